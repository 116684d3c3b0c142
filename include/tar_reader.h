/*
 * A streaming reader of a build context (a tar archive) that keeps the
 * few files the guard must judge (the Dockerfile) as the engine will find
 * them after extracting the archive.  Pure: no I/O; memory is bounded by
 * the files kept (max_file each), one header block and the names of
 * symbolic links seen (a hard cap).
 *
 * Entries are read as Go's archive/tar reads them (ustar prefix, GNU long
 * names, PAX path and size, header-only types carry no data, checksum
 * checked) and placed as the engine's untar places them (filepath.Clean,
 * a later entry replaces an earlier one, a non-directory entry removes
 * what was there).  What the guard cannot follow is an error: sparse
 * files, an entry written through a symbolic link, a kept file that is or
 * sits below a link, a name leaving the context, a compressed archive
 * (gzip, bzip2, xz, zstd: the engine detects them by magic bytes).
 *
 * The end of the archive is the first all-zero block where a header is
 * due: the engine's untar stops there.  The reader releases bytes as they
 * may go on to the engine: everything up to that block, except a header
 * block still incomplete.  The caller holds back the rest until the
 * verdict, so the engine cannot finish extracting (and start the build)
 * before the guard has judged.
 */
#ifndef TAR_READER_H
#define TAR_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tar_file_state {
	TAR_FILE_ABSENT,  /* not in the archive (or removed) */
	TAR_FILE_REGULAR, /* a regular file: data holds it */
	TAR_FILE_OTHER,	  /* a directory, device, ... */
};

struct tar_file {
	char *path; /* cleaned, relative */
	enum tar_file_state state;
	char *data; /* NUL-terminated */
	size_t len;
};

struct tar_reader;

/*
 * Keep the files at paths (each cleaned as the engine's FullPath does;
 * one leaving the context is an error reported by the first feed).
 * max_file caps each kept file.  Caller frees.
 */
struct tar_reader *
tar_reader_new(const char *const *paths, size_t n, size_t max_file);
void tar_reader_free(struct tar_reader *t);

/*
 * Read len more bytes of the archive.  Returns 0, or -1 with *cause (a
 * static string) when the archive is one the guard cannot judge; the
 * reader then stays failed.
 */
int tar_reader_feed(struct tar_reader *t, const unsigned char *p, size_t len,
    const char **cause);

/* How many bytes from the start may go on to the engine now. */
uint64_t tar_reader_released(const struct tar_reader *t);

/* The end-of-archive block was seen. */
bool tar_reader_ended(const struct tar_reader *t);

/* The body ended: 0 if the archive ended where the engine would end it
   (a zero block, or a header boundary), -1 with *cause if not. */
int tar_reader_finish(struct tar_reader *t, const char **cause);

/* The i-th kept file (as given to tar_reader_new).  Borrowed. */
const struct tar_file *tar_reader_file(const struct tar_reader *t, size_t i);

/*
 * filepath.Clean(name) without a leading "/" (the engine joins it to the
 * context root).  Returns NULL when it leaves the root ("..").  Caller
 * frees.
 */
char *tar_clean_path(const char *name);

#endif
