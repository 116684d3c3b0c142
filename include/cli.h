/*
 * The command line: docker-guard COMMAND [options].
 */
#ifndef CLI_H
#define CLI_H

/* Parse argv and run the command.  Returns the exit status. */
int cli_main(int argc, char **argv);

#endif
