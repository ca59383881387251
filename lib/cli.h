/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_CLI_H
#define SNITCH_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Command-line options with environment-variable defaults, described once
 * in a table from which the parser and --help are both made. Precedence:
 * built-in default, then the environment, then the command line.
 *
 * This is the one part of lib/ that prints: --help and --version on
 * stdout, a bad option on stderr, each on behalf of the tool that asked.
 */

enum cli_type {
	CLI_FLAG,	/* bool *; the environment takes 1/0, yes/no, true/false */
	CLI_STRING,	/* const char ** */
	CLI_UINT,	/* uint64_t *, within [min, max] */
	CLI_CHOICE,	/* int *: index into choices */
};

struct cli_opt {
	const char *name;		/* long name, without "--" */
	char short_name;		/* 0 when there is none */
	enum cli_type type;
	void *value;
	const char *metavar;		/* "N", "FILE"; unused for flags */
	const char *env;		/* variable holding the default, or NULL */
	const char *help;		/* one line, lowercase */
	uint64_t min, max;		/* CLI_UINT */
	const char *const *choices;	/* CLI_CHOICE, NULL-terminated */
};

struct cli {
	const char *prog;
	const char *usage;	/* lines after "Usage: prog ", '\n'-separated */
	const char *summary;	/* what the tool does, a paragraph or two */
	const char *examples;	/* lines of examples */
	const struct cli_opt *opts;
	size_t nopts;
	const int *exit_codes;	/* the statuses this tool can return, -1-ended */
};

/*
 * Parse the environment, then argv. Returns -1 to go on, with *first_arg
 * the index of the first operand; otherwise the exit status to return at
 * once (0 after --help or --version, SNITCH_EXIT_USAGE after an error,
 * which has been printed with a pointer to --help).
 */
int cli_parse(const struct cli *c, int argc, char **argv, int *first_arg);

/* Print a usage error the same way cli_parse() does; returns the status. */
int cli_usage_error(const struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void cli_help(const struct cli *c);

/*
 * Print the options that have an environment variable as a commented
 * KEY=value fragment of a configuration file, with the built-in defaults
 * (--config-template).
 */
void cli_config_template(const struct cli *c);

/*
 * Parse an unsigned decimal within [min, max] (strtoull with the errno,
 * end-pointer and range checks docs/architecture.md asks for). 0 or -EINVAL/-ERANGE.
 */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
