/* SPDX-License-Identifier: MIT */
/* placeholder: being written */
#include "server/cli.h"

#include <stdio.h>

const char srv_cli_domains_usage[] = "";

int
srv_cli_domains(const char *cfg_path, int argc, char **argv)
{
	(void)cfg_path;
	(void)argc;
	(void)argv;
	fprintf(stderr, "acmedns: domains: not built yet\n");
	return 1;
}
