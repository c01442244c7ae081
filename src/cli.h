/* Command-line parsing, compatible with rpxy's (clap) interface. */
#ifndef RPXY_CLI_H
#define RPXY_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum cli_action {
    CLI_RUN,        /* serve with --config */
    CLI_CHECK,      /* --check: validate, print a summary, exit 0/1 */
    CLI_HELP,       /* -h/--help */
    CLI_VERSION,    /* -V/--version */
    CLI_REFERENCE,  /* --dump-config-reference: docs/config.md on stdout */
    CLI_MAN,        /* --dump-man: rpxy(8) on stdout */
    CLI_CONFIG_MAN, /* --dump-config-man: rpxy.toml(5) on stdout */
    CLI_USAGE_ERROR /* message already printed; exit 2 */
};

struct cli_options {
    enum cli_action action;
    const char *config_path; /* points into argv */
    const char *log_dir;     /* points into argv, or NULL */
};

/* Parses argv. Usage errors are printed on err (clap style). */
struct cli_options cli_parse(int argc, char **argv, FILE *err);

void cli_print_help(FILE *out);

/* rpxy(8) as man(7) source (cli_man.c). */
void cli_print_man(FILE *out);

#define CLI_USAGE "Usage: rpxy [OPTIONS] --config <FILE>"

#endif
