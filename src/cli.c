#include "cli.h"

#include <string.h>

void cli_print_help(FILE *out)
{
    fputs("rpxy: a simple and ultrafast HTTP reverse proxy (C implementation)\n"
          "\n" CLI_USAGE "\n"
          "\n"
          "Options:\n"
          "  -c, --config <FILE>      Configuration file path like ./config.toml\n"
          "  -l, --log-dir <LOG_DIR>  Directory for log files (access.log, rpxy.log).\n"
          "                           If not specified, logs are printed to stdout.\n"
          "      --check              Validate the configuration, print a summary of\n"
          "                           listeners, apps, routes and upstreams, and exit\n"
          "                           (0 when valid, 1 when not)\n"
          "      --dump-config-reference\n"
          "                           Print the configuration reference (Markdown)\n"
          "      --dump-man, --dump-config-man\n"
          "                           Print the rpxy(8) or rpxy.toml(5) man page\n"
          "  -h, --help               Print help\n"
          "  -V, --version            Print version\n"
          "\n"
          "Environment:\n"
          "  RUST_LOG (or RPXY_LOG)   error, warn, info (default), debug or trace\n"
          "\n"
          "Signals: SIGHUP reloads the configuration, SIGUSR1 reopens the log files,\n"
          "SIGTERM/SIGINT stop the process.\n",
          out);
}

static enum cli_action usage_error(FILE *err, const char *fmt, const char *arg)
{
    fputs("error: ", err);
    fprintf(err, fmt, arg);
    fputs("\n\n" CLI_USAGE "\n\nFor more information, try '--help'.\n", err);
    return CLI_USAGE_ERROR;
}

/* Matches "-c", "--config" and "--config=VALUE"; returns the value or NULL. */
static int take_value(const char *opt, const char *s, const char *l, int *i, int argc, char **argv,
                      const char **value)
{
    size_t ll = strlen(l);
    if (strcmp(opt, s) == 0 || strcmp(opt, l) == 0) {
        if (*i + 1 >= argc)
            return -1;
        *value = argv[++*i];
        return 1;
    }
    if (strncmp(opt, l, ll) == 0 && opt[ll] == '=') {
        *value = opt + ll + 1;
        return 1;
    }
    if (opt[0] == '-' && opt[1] == s[1] && opt[1] != '-' && opt[2] != '\0' && s[2] == '\0') {
        *value = opt + 2; /* -cFILE */
        return 1;
    }
    return 0;
}

struct cli_options cli_parse(int argc, char **argv, FILE *err)
{
    struct cli_options o = { .action = CLI_RUN };
    bool check = false;
    enum cli_action dump = CLI_RUN; /* one of the --dump-* actions, or none */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        int r;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o.action = CLI_HELP;
            return o;
        }
        if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            o.action = CLI_VERSION;
            return o;
        }
        if (strcmp(a, "--check") == 0) {
            check = true;
            continue;
        }
        if (strcmp(a, "--dump-config-reference") == 0) {
            dump = CLI_REFERENCE;
            continue;
        }
        if (strcmp(a, "--dump-man") == 0) {
            dump = CLI_MAN;
            continue;
        }
        if (strcmp(a, "--dump-config-man") == 0) {
            dump = CLI_CONFIG_MAN;
            continue;
        }
        if ((r = take_value(a, "-c", "--config", &i, argc, argv, &v)) != 0) {
            if (r < 0) {
                o.action = usage_error(err, "a value is required for '%s' but none was supplied",
                                       "--config <FILE>");
                return o;
            }
            o.config_path = v;
            continue;
        }
        if ((r = take_value(a, "-l", "--log-dir", &i, argc, argv, &v)) != 0) {
            if (r < 0) {
                o.action = usage_error(err, "a value is required for '%s' but none was supplied",
                                       "--log-dir <LOG_DIR>");
                return o;
            }
            o.log_dir = v;
            continue;
        }
        if (a[0] == '-' && a[1] != '\0')
            o.action = usage_error(err, "unexpected argument '%s' found", a);
        else
            o.action = usage_error(err, "unexpected argument '%s' found", a);
        return o;
    }
    if (dump != CLI_RUN) {
        o.action = dump;
        return o;
    }
    if (!o.config_path || !o.config_path[0]) {
        o.action = usage_error(err, "the following required arguments were not provided:\n  %s",
                               "--config <FILE>");
        return o;
    }
    o.action = check ? CLI_CHECK : CLI_RUN;
    return o;
}
