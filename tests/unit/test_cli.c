/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "cli.h"
#include "exitcode.h"
#include "test.h"

static bool flag;
static uint64_t num;
static const char *str;
static int choice;
static const char *const choices[] = { "one", "two", NULL };
static const int codes[] = { 0, 2, -1 };
static const struct cli_opt opts[] = {
	{ .name = "flag", .short_name = 'f', .type = CLI_FLAG, .value = &flag,
	  .env = "T_FLAG", .help = "a flag" },
	{ .name = "num", .short_name = 'n', .type = CLI_UINT, .value = &num,
	  .metavar = "N", .env = "T_NUM", .min = 1, .max = 100, .help = "a number" },
	{ .name = "str", .type = CLI_STRING, .value = &str, .metavar = "S",
	  .help = "a string" },
	{ .name = "choice", .type = CLI_CHOICE, .value = &choice, .metavar = "C",
	  .env = "T_CHOICE", .choices = choices, .help = "a choice" },
};
static const struct cli cli = {
	.prog = "t", .usage = "[OPTION]...", .summary = "test", .opts = opts,
	.nopts = 4, .exit_codes = codes,
};

static char errbuf[4096];

/* what the last run() printed on stderr */
static const char *errors(void)
{
	fflush(stderr);
	rewind(stderr);
	size_t n = fread(errbuf, 1, sizeof(errbuf) - 1, stderr);
	errbuf[n] = '\0';
	rewind(stderr);
	(void)!ftruncate(fileno(stderr), 0);
	return errbuf;
}

static int run(int argc, const char **argv, int *first)
{
	(void)errors();
	flag = false;
	num = 5;
	str = NULL;
	choice = 0;
	return cli_parse(&cli, argc, (char **)argv, first);
}

int main(void)
{
	int first;
	uint64_t v;

	/* catch what the parser prints, to check it */
	if (!freopen("/tmp/snitch-test-cli.err", "w+", stderr))
		return 1;
	unlink("/tmp/snitch-test-cli.err");

	CHECK(cli_parse_u64("42", 0, 100, &v) == 0 && v == 42);
	CHECK(cli_parse_u64("101", 0, 100, &v) == -ERANGE);
	CHECK(cli_parse_u64("-1", 0, 100, &v) == -EINVAL);
	CHECK(cli_parse_u64(" 1", 0, 100, &v) == -EINVAL);
	CHECK(cli_parse_u64("1x", 0, 100, &v) == -EINVAL);
	CHECK(cli_parse_u64("", 0, 100, &v) == -EINVAL);
	CHECK(cli_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v) == -ERANGE);

	{
		const char *argv[] = { "t", "-f", "--num", "7", "a", "--str=x", "b", NULL };
		CHECK_EQ_INT(run(7, argv, &first), -1);
		CHECK(flag && num == 7 && str && !strcmp(str, "x"));
		/* GNU order: operands are moved after the options */
		CHECK_EQ_INT(first, 5);
		CHECK(!strcmp(argv[first], "a") && !strcmp(argv[first + 1], "b"));
	}
	{
		const char *argv[] = { "t", "--num", "0", NULL };
		CHECK_EQ_INT(run(3, argv, &first), SNITCH_EXIT_USAGE);
	}
	{
		const char *argv[] = { "t", "--bogus", NULL };
		CHECK_EQ_INT(run(2, argv, &first), SNITCH_EXIT_USAGE);
	}
	{
		const char *argv[] = { "t", "--num", NULL };
		CHECK_EQ_INT(run(2, argv, &first), SNITCH_EXIT_USAGE);
		CHECK(!strcmp(errors(), "t: option '--num' needs an argument\n"
			      "Try 't --help' for more information.\n"));
	}
	{
		const char *argv[] = { "t", "-n", NULL };
		CHECK_EQ_INT(run(2, argv, &first), SNITCH_EXIT_USAGE);
		CHECK(!strcmp(errors(), "t: option '-n' needs an argument\n"
			      "Try 't --help' for more information.\n"));
	}
	{
		const char *argv[] = { "t", "-x", NULL };
		CHECK_EQ_INT(run(2, argv, &first), SNITCH_EXIT_USAGE);
		CHECK(!strncmp(errors(), "t: unknown option '-x'\n", 23));
	}
	{
		const char *argv[] = { "t", "--choice", "three", NULL };
		CHECK_EQ_INT(run(3, argv, &first), SNITCH_EXIT_USAGE);
		CHECK(!strncmp(errors(), "t: invalid value 'three' for --choice: expected one of one, two\n", 63));
	}
	/* the environment sets defaults; the command line wins */
	setenv("T_NUM", "9", 1);
	setenv("T_FLAG", "yes", 1);
	setenv("T_CHOICE", "two", 1);
	{
		const char *argv[] = { "t", NULL };
		CHECK_EQ_INT(run(1, argv, &first), -1);
		CHECK(num == 9 && flag && choice == 1);
	}
	{
		const char *argv[] = { "t", "-n", "3", "--choice", "one", NULL };
		CHECK_EQ_INT(run(5, argv, &first), -1);
		CHECK(num == 3 && choice == 0);
	}
	setenv("T_NUM", "x", 1);
	{
		const char *argv[] = { "t", NULL };
		CHECK_EQ_INT(run(1, argv, &first), SNITCH_EXIT_USAGE);
	}
	setenv("T_NUM", "", 1);		/* empty means unset */
	setenv("T_FLAG", "maybe", 1);
	{
		const char *argv[] = { "t", NULL };
		CHECK_EQ_INT(run(1, argv, &first), SNITCH_EXIT_USAGE);
	}
	TEST_MAIN_END("test_cli");
}
