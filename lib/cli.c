/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "exitcode.h"

#ifndef SNITCH_VERSION
#define SNITCH_VERSION "unknown"
#endif

static const char *const exit_text[] = {
	[SNITCH_EXIT_OK] = "success; also after SIGINT, SIGTERM or a closed output",
	[SNITCH_EXIT_PARTIAL] = "some inputs could not be processed (each was reported)",
	[SNITCH_EXIT_USAGE] = "bad option or argument",
	[SNITCH_EXIT_NOPERM] = "missing privileges",
	[SNITCH_EXIT_UNAVAILABLE] = "a kernel feature or service is missing",
	[SNITCH_EXIT_IO] = "reading input or writing output failed",
	[SNITCH_EXIT_SOFTWARE] = "out of memory or an internal error",
};

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* strtoull accepts leading space and a minus sign: refuse both */
	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int cli_usage_error(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", c->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", c->prog);
	return SNITCH_EXIT_USAGE;
}

static int parse_flag_word(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Set opt from text; 'from' names where it came from, for the message. */
static int set_value(const struct cli *c, const struct cli_opt *o,
		     const char *s, const char *from)
{
	switch (o->type) {
	case CLI_FLAG:
		if (parse_flag_word(s, o->value) < 0)
			return cli_usage_error(c, "invalid value '%s' for %s: expected 1 or 0, yes or no",
					       s, from);
		return -1;
	case CLI_STRING:
		*(const char **)o->value = s;
		return -1;
	case CLI_UINT: {
		int r = cli_parse_u64(s, o->min, o->max, o->value);
		if (r == -ERANGE)
			return cli_usage_error(c, "invalid value '%s' for %s: must be from %llu to %llu",
					       s, from, (unsigned long long)o->min,
					       (unsigned long long)o->max);
		if (r < 0)
			return cli_usage_error(c, "invalid value '%s' for %s: not a whole number",
					       s, from);
		return -1;
	}
	case CLI_CHOICE:
		for (int i = 0; o->choices[i]; i++) {
			if (!strcmp(s, o->choices[i])) {
				*(int *)o->value = i;
				return -1;
			}
		}
		{
			char list[256] = "";
			for (int i = 0; o->choices[i]; i++) {
				if (i)
					strncat(list, ", ", sizeof(list) - strlen(list) - 1);
				strncat(list, o->choices[i], sizeof(list) - strlen(list) - 1);
			}
			return cli_usage_error(c, "invalid value '%s' for %s: expected one of %s",
					       s, from, list);
		}
	}
	return -1;
}

static void print_default(const struct cli_opt *o, char *out, size_t size)
{
	out[0] = '\0';
	switch (o->type) {
	case CLI_FLAG:
		break;
	case CLI_STRING:
		if (*(const char **)o->value)
			snprintf(out, size, "%s", *(const char **)o->value);
		break;
	case CLI_UINT:
		snprintf(out, size, "%llu",
			 (unsigned long long)*(uint64_t *)o->value);
		break;
	case CLI_CHOICE:
		snprintf(out, size, "%s", o->choices[*(int *)o->value]);
		break;
	}
}

/* One option: its names on the left, its text wrapped to 79 columns. */
static void help_line(const char *left, const char *text)
{
	const int indent = 28, width = 79;
	int col;

	col = printf("  %s", left);
	if (col > indent - 2) {
		putchar('\n');
		col = 0;
	}
	while (*text) {
		const char *sp = text;
		int room = width - indent;

		/* take as many words as fit; a longer word goes on its own */
		while (*sp) {
			const char *next = strchr(sp + 1, ' ');
			if (!next)
				next = sp + strlen(sp);
			if (next - text > room && sp != text)
				break;
			sp = next;
			if (*sp == '\0')
				break;
		}
		printf("%*s%.*s\n", indent - col, "", (int)(sp - text), text);
		col = 0;
		text = *sp ? sp + 1 : sp;
	}
}

void cli_help(const struct cli *c)
{
	const char *u = c->usage;
	bool first = true;

	while (*u) {
		const char *nl = strchr(u, '\n');
		size_t n = nl ? (size_t)(nl - u) : strlen(u);

		printf("%s %s %.*s\n", first ? "Usage:" : "      ", c->prog,
		       (int)n, u);
		first = false;
		u += n + (nl ? 1 : 0);
	}
	printf("\n%s\n\nOptions:\n", c->summary);
	for (size_t i = 0; i < c->nopts; i++) {
		const struct cli_opt *o = &c->opts[i];
		char left[128], text[512], def[128];
		int n;

		if (o->short_name)
			n = snprintf(left, sizeof(left), "-%c, --%s", o->short_name, o->name);
		else
			n = snprintf(left, sizeof(left), "    --%s", o->name);
		if (o->type != CLI_FLAG && n > 0 && (size_t)n < sizeof(left))
			snprintf(left + n, sizeof(left) - (size_t)n, " %s", o->metavar);
		print_default(o, def, sizeof(def));
		n = snprintf(text, sizeof(text), "%s", o->help);
		if (o->type == CLI_UINT && n > 0 && (size_t)n < sizeof(text))
			n += snprintf(text + n, sizeof(text) - (size_t)n, " (%llu-%llu)",
				      (unsigned long long)o->min, (unsigned long long)o->max);
		if (o->type == CLI_CHOICE && n > 0 && (size_t)n < sizeof(text)) {
			n += snprintf(text + n, sizeof(text) - (size_t)n, " (");
			for (int k = 0; o->choices[k] && n > 0 && (size_t)n < sizeof(text); k++)
				n += snprintf(text + n, sizeof(text) - (size_t)n, "%s%s",
					      k ? ", " : "", o->choices[k]);
			if (n > 0 && (size_t)n < sizeof(text))
				n += snprintf(text + n, sizeof(text) - (size_t)n, ")");
		}
		if (def[0] && n > 0 && (size_t)n < sizeof(text))
			n += snprintf(text + n, sizeof(text) - (size_t)n, "; default %s", def);
		if (o->env && n > 0 && (size_t)n < sizeof(text))
			snprintf(text + n, sizeof(text) - (size_t)n, " [$%s]", o->env);
		help_line(left, text);
	}
	help_line("    --config-template", "print the [$VAR] settings below as commented lines for /etc/snitch/snitch.conf, with their built-in defaults, and exit");
	help_line("-h, --help", "show this help and exit");
	help_line("-V, --version", "show the version and exit");
	printf("\nEach [$VAR] is an environment variable that sets the default; a flag on\n"
	       "the command line wins over it. Flags take 1 or 0 there.\n");
	printf("\nExit status:\n");
	for (const int *e = c->exit_codes; *e >= 0; e++)
		printf("  %d  %s\n", *e, exit_text[*e]);
	if (c->examples)
		printf("\nExamples:\n%s", c->examples);
}

/* A value as a shell word: quoted when it holds anything but plain text. */
static void print_shell_word(const char *s)
{
	if (!s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-:,@+=")]) {
		fputs(s, stdout);
		return;
	}
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

void cli_config_template(const struct cli *c)
{
	printf("# %s\n", c->prog);
	for (size_t i = 0; i < c->nopts; i++) {
		const struct cli_opt *o = &c->opts[i];
		char def[128];

		if (!o->env)
			continue;
		print_default(o, def, sizeof(def));
		printf("# --%s: %s", o->name, o->help);
		if (o->type == CLI_UINT)
			printf(" (%llu-%llu)", (unsigned long long)o->min, (unsigned long long)o->max);
		if (o->type == CLI_CHOICE) {
			printf(" (");
			for (int k = 0; o->choices[k]; k++)
				printf("%s%s", k ? ", " : "", o->choices[k]);
			printf(")");
		}
		printf("\n#%s=", o->env);
		if (o->type == CLI_FLAG)
			printf("%d", *(bool *)o->value ? 1 : 0);
		else
			print_shell_word(def);
		putchar('\n');
	}
}

/* The options' environment variables, before the command line. */
static int cli_from_env(const struct cli *c)
{
	char from[96];
	int r;

	for (size_t i = 0; i < c->nopts; i++) {
		const struct cli_opt *o = &c->opts[i];
		const char *v = o->env ? getenv(o->env) : NULL;

		if (v && *v) {
			snprintf(from, sizeof(from), "$%s", o->env);
			if ((r = set_value(c, o, v, from)) >= 0)
				return r;
		}
	}
	return -1;
}

/*
 * getopt_long's tables for the options and help, config-template and
 * version. An option without a short name is 256 + its index. GNU order:
 * options may follow operands; "--" ends them.
 */
static void cli_getopt_tables(const struct cli *c, struct option *lopts, char *sopts)
{
	size_t ns = 0, nl = 0;

	sopts[ns++] = ':';	/* report a missing argument as ':' */
	for (size_t i = 0; i < c->nopts; i++) {
		const struct cli_opt *o = &c->opts[i];
		int has_arg = o->type == CLI_FLAG ? no_argument : required_argument;

		lopts[nl++] = (struct option){ o->name, has_arg, NULL,
					       o->short_name ? o->short_name
							     : 256 + (int)i };
		if (o->short_name) {
			sopts[ns++] = o->short_name;
			if (has_arg == required_argument)
				sopts[ns++] = ':';
		}
	}
	lopts[nl++] = (struct option){ "help", no_argument, NULL, 'h' };
	lopts[nl++] = (struct option){ "config-template", no_argument, NULL, 'T' };
	lopts[nl++] = (struct option){ "version", no_argument, NULL, 'V' };
	lopts[nl] = (struct option){ 0, 0, 0, 0 };
	memcpy(sopts + ns, "hV", 3);
}

/* The option getopt_long returned: NULL if none of the table's. */
static const struct cli_opt *cli_opt_of(const struct cli *c, int ch)
{
	if (ch >= 256)
		return &c->opts[ch - 256];
	for (size_t i = 0; i < c->nopts; i++)
		if (c->opts[i].short_name == ch)
			return &c->opts[i];
	return NULL;
}

int cli_parse(const struct cli *c, int argc, char **argv, int *first_arg)
{
	struct option lopts[64];
	char sopts[160], from[96];
	int r;

	/* before the environment: the template shows the built-in defaults */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--config-template")) {
			cli_config_template(c);
			return SNITCH_EXIT_OK;
		}
	}
	if (c->nopts + 4 > sizeof(lopts) / sizeof(lopts[0]))
		abort();	/* a table this large is a programming error */
	if ((r = cli_from_env(c)) >= 0)
		return r;
	cli_getopt_tables(c, lopts, sopts);
	opterr = 0;
	optind = 1;
	for (;;) {
		int ch = getopt_long(argc, argv, sopts, lopts, NULL);
		const struct cli_opt *o;

		if (ch == -1)
			break;
		if (ch == 'h') {
			cli_help(c);
			return SNITCH_EXIT_OK;
		}
		if (ch == 'V') {
			printf("%s %s\n", c->prog, SNITCH_VERSION);
			return SNITCH_EXIT_OK;
		}
		if (ch == '?' || ch == ':') {
			const char *arg = argv[optind - 1];

			/* name what was typed: "--num", not its short form */
			if (optopt && optopt < 256 && strncmp(arg, "--", 2) != 0)
				return cli_usage_error(c, ch == ':' ? "option '-%c' needs an argument"
								   : "unknown option '-%c'", optopt);
			return cli_usage_error(c, ch == ':' ? "option '%s' needs an argument"
							   : "unknown option '%s'", arg);
		}
		if (!(o = cli_opt_of(c, ch)))
			return cli_usage_error(c, "unknown option");
		if (o->type == CLI_FLAG) {
			*(bool *)o->value = true;
			continue;
		}
		snprintf(from, sizeof(from), "--%s", o->name);
		if ((r = set_value(c, o, optarg, from)) >= 0)
			return r;
	}
	*first_arg = optind;
	return -1;
}
