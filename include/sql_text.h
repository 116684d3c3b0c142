/*
 * SQL text with its values in it, for PostgreSQL's simple query protocol,
 * which runs several statements in one round trip but takes no separate
 * parameters.  Pure.  The connection must have standard_conforming_strings
 * on (fleet.c sets it), so a backslash in a literal is just a backslash.
 */
#ifndef SQL_TEXT_H
#define SQL_TEXT_H

/* s as a string literal ('...', quotes doubled), or NULL for s NULL.
 * Caller frees. */
char *sql_literal(const char *s);

/*
 * sql with every parameter $1..$n outside quoted strings and quoted
 * identifiers replaced by the literal of values[k - 1] (NULL: SQL NULL),
 * with a space on a side where it would touch its neighbour and make
 * another token.  As in PostgreSQL, a '$' inside a name (a$1) is no
 * parameter.
 * Returns NULL if sql names a parameter above n or $0, or ends inside a
 * quote.  Caller frees.
 */
char *sql_bind(const char *sql, int n, const char *const *values);

#endif
