/* SPDX-License-Identifier: MIT */
/*
 * `acmedns account show|key-change|deactivate|contact`: the ACME account
 * (RFC 8555 §7.3) for the local administrator, on the store opened
 * synchronously. `show` reads the account row server/acme.c keeps
 * (directory, URL, status, the contact set here, the last account-level
 * error) and names the key by its type and RFC 7638 thumbprint; it never
 * prints the private key, which is parsed only to compute those and then
 * wiped. Everything that talks to the CA is queued in acme_requests for
 * the daemon (key_change, deactivate, contact), which applies it within
 * about 2 s or at its next start: this file never contacts the CA and
 * never writes the account row itself.
 */
#include "acme/pki.h"
#include "common/errors.h"
#include "common/util.h"
#include "server/cli.h"
#include "server/config.h"
#include "server/store.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define EXIT_RUNTIME SRV_CLI_EXIT_RUNTIME
#define EXIT_USAGE SRV_CLI_EXIT_USAGE
#define CONTACT_MAX 254 /* what the engine accepts (RFC 5321 path) */

const char srv_cli_account_usage[] =
    "  account show -c FILE [--json]\n"
    "                         the ACME account: directory, URL, status, "
    "key type and\n"
    "                         thumbprint, contact, last error (never the "
    "key)\n"
    "  account key-change -c FILE [--key-type TYPE]\n"
    "                         roll the account key over (RFC 8555 "
    "7.3.5) to a new\n"
    "                         key; TYPE: ec256, ec384, rsa2048, rsa4096 "
    "(default:\n"
    "                         [acme] account_key_type)\n"
    "  account contact -c FILE EMAIL\n"
    "                         set the account's contact (\"\" for none)\n"
    "  account deactivate -c FILE --yes\n"
    "                         deactivate the account for good: no "
    "certificate can\n"
    "                         be ordered or renewed with it any more\n"
    "                         key-change, contact and deactivate are "
    "queued: a\n"
    "                         running acmedns applies them within 2 s, "
    "otherwise\n"
    "                         at its next start\n";

struct opts {
	const char *op;
	const char *cfg_path;
	const char *key_type;
	bool json, yes;
	char **args;
	size_t nargs;
};

#define usage_error(...)                                                       \
	srv_cli__usage_error("account", srv_cli_account_usage, __VA_ARGS__)

enum { O_KEYTYPE = 256, O_JSON, O_YES };

/* getopt_long over argv[0..argc) where argv[0] is the operation. -1 when
 * parsed, else an exit code. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"key-type", required_argument, NULL, O_KEYTYPE},
	    {"json", no_argument, NULL, O_JSON},
	    {"yes", no_argument, NULL, O_YES},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	optind = 0; /* glibc: full re-initialisation */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->cfg_path = optarg;
			break;
		case 'h':
			printf("usage:\n%s", srv_cli_account_usage);
			return 0;
		case O_KEYTYPE:
			o->key_type = optarg;
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_YES:
			o->yes = true;
			break;
		case ':':
			return usage_error("option %s needs a value",
					   argv[optind - 1]);
		default:
			return usage_error("unknown option %s",
					   argv[optind - 1]);
		}
	}
	o->args = argv + optind;
	o->nargs = (size_t)(argc - optind);
	return -1;
}

/* Options of another operation are usage errors (a mistyped command must
 * not half-work). */
static int
check_opts(const struct opts *o)
{
	bool show = strcmp(o->op, "show") == 0;
	bool kc = strcmp(o->op, "key-change") == 0;
	bool deact = strcmp(o->op, "deactivate") == 0;
	bool contact = strcmp(o->op, "contact") == 0;

	if (!show && o->json)
		return usage_error("--json belongs to `account show`");
	if (!kc && o->key_type)
		return usage_error("--key-type belongs to `account "
				   "key-change`");
	if (!deact && o->yes)
		return usage_error("--yes belongs to `account deactivate`");
	if (deact && !o->yes)
		return usage_error("deactivation cannot be undone (RFC 8555 "
				   "7.3.6): confirm with --yes");
	if (contact && o->nargs != 1)
		return usage_error("contact needs exactly one EMAIL (\"\" "
				   "for none)");
	if (!contact && o->nargs)
		return usage_error("%s takes no operand: %s", o->op,
				   o->args[0]);
	if (kc && o->key_type) {
		enum acme_keytype kt;
		/* RFC 8555 §7.3.5 account keys: the JWS algorithms the
		 * engine signs with (ES256, ES384, RS256) */
		if (acme_keytype_parse(o->key_type, &kt) != 0 ||
		    strcmp(o->key_type, "rsa3072") == 0)
			return usage_error("unknown key type %s (ec256, ec384, "
					   "rsa2048, rsa4096)",
					   o->key_type);
	}
	return -1;
}

/* The email as the engine accepts it: printable, no spaces or commas (a
 * contact is one URL, RFC 8555 §7.3), at most 254 bytes. */
static bool
contact_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return true; /* none */
	if (n > CONTACT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f || s[i] == ',')
			return false;
	const char *addr = strncmp(s, "mailto:", 7) == 0 ? s + 7 : s;
	const char *at = strchr(addr, '@');
	return at && at != addr && at[1] && !strchr(at + 1, '@');
}

/* ---- the stored account ---------------------------------------------------
 */

/* What show prints; no secret in here. */
struct acct {
	bool present;
	char *directory, *url, *status, *contact, *error;
	char key_type[16];
	char thumb[ACME_THUMB_LEN + 1];
};

static void
acct_clear(struct acct *x)
{
	free(x->directory);
	free(x->url);
	free(x->status);
	free(x->contact);
	free(x->error);
	memset(x, 0, sizeof(*x));
}

static char *
json_str(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	if (!cJSON_IsString(v) || !v->valuestring ||
	    strlen(v->valuestring) > 4096)
		return NULL;
	return strdup(v->valuestring);
}

/* Wipe every string of the tree: the row holds the private key. */
static void
json_wipe(cJSON *j)
{
	for (; j; j = j->next) {
		if (j->valuestring)
			OPENSSL_cleanse(j->valuestring, strlen(j->valuestring));
		if (j->child)
			json_wipe(j->child);
	}
}

static int
visit_account(void *arg, const char *json)
{
	struct acct *x = arg;
	cJSON *j = cJSON_Parse(json);
	const cJSON *k;

	acct_clear(x);
	x->present = true;
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return 0; /* present but unreadable: show says so */
	}
	x->directory = json_str(j, "directory");
	x->url = json_str(j, "url");
	x->status = json_str(j, "status");
	x->contact = json_str(j, "contact");
	x->error = json_str(j, "error");
	k = cJSON_GetObjectItemCaseSensitive(j, "key_pem");
	if (cJSON_IsString(k) && k->valuestring) {
		EVP_PKEY *key = NULL;
		enum acme_keytype kt;
		if (acme_key_from_pem(k->valuestring, strlen(k->valuestring),
				      &key) == 0) {
			if (acme_key_type(key, &kt) == 0 &&
			    acme_keytype_name(kt))
				ad_strlcpy(x->key_type, acme_keytype_name(kt),
					   sizeof(x->key_type));
			if (acme_jwk_thumbprint(key, x->thumb) != 0)
				x->thumb[0] = '\0';
		}
		EVP_PKEY_free(key);
	}
	json_wipe(j);
	cJSON_Delete(j);
	return 0;
}

static int
visit_domain(void *arg, const char *id, const char *owner, const char *json)
{
	(void)arg;
	(void)id;
	(void)owner;
	(void)json;
	return 0;
}

struct ctx {
	struct srv_config *cfg;
	struct srv_store *st;
	struct acct acct;
};

static void
ctx_free(struct ctx *c)
{
	acct_clear(&c->acct);
	if (c->st)
		srv_store_close(c->st);
	srv_config_free(c->cfg);
}

/* -1 when open, else an exit code (message printed). */
static int
ctx_open(struct ctx *c, const char *cfg_path)
{
	memset(c, 0, sizeof(*c));
	int ec = srv_cli__open(cfg_path, &c->cfg, &c->st);
	if (ec >= 0)
		return ec;
	if (!c->cfg->directory || !*c->cfg->directory) {
		fprintf(stderr,
			"acmedns: [acme] directory is not set in %s: "
			"there is no ACME account\n",
			cfg_path);
		return EXIT_RUNTIME;
	}
	struct srv_store_acme_visitor v = {.account = visit_account,
					   .domain = visit_domain};
	int rc = srv_store_acme_load(c->st, &v, &c->acct);
	if (rc != 0) {
		fprintf(stderr,
			"acmedns: cannot read the ACME account from "
			"%s: %s\n",
			c->cfg->store_path, ad_strerror(rc));
		return EXIT_RUNTIME;
	}
	return -1;
}

/* The account the daemon will use: stored for this directory. Prints why
 * not and returns false otherwise. */
static bool
acct_usable(const struct ctx *c, bool for_show)
{
	const struct acct *x = &c->acct;

	if (!x->present) {
		fprintf(stderr,
			"acmedns: no ACME account in %s yet (acmedns "
			"serve creates it at its first start)\n",
			c->cfg->store_path);
		return false;
	}
	if (!x->thumb[0]) {
		fprintf(stderr,
			"acmedns: the stored ACME account in %s is "
			"unreadable (no valid key)\n",
			c->cfg->store_path);
		return false;
	}
	if (!for_show &&
	    (!x->directory || strcmp(x->directory, c->cfg->directory) != 0)) {
		fprintf(stderr,
			"acmedns: the stored account belongs to %s, "
			"not to [acme] directory %s (acmedns serve "
			"creates a new one at its next start)\n",
			x->directory ? x->directory : "(unknown)",
			c->cfg->directory);
		return false;
	}
	if (!for_show && x->status && strcmp(x->status, "deactivated") == 0) {
		fprintf(stderr, "acmedns: the account %s is deactivated\n",
			x->url ? x->url : "");
		return false;
	}
	if (!for_show && !x->url) {
		/* nothing to change at the CA yet; the daemon's request
		 * would wait for an account that may never come */
		fprintf(stderr,
			"acmedns: the account is not registered with "
			"the CA yet%s%s\n",
			x->error ? ": " : "", x->error ? x->error : "");
		return false;
	}
	return true;
}

/* ---- operations -----------------------------------------------------------
 */

static void
add_str_or_null(cJSON *j, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(j, key, v);
	else
		cJSON_AddNullToObject(j, key);
}

static int
cmd_show(struct ctx *c, const struct opts *o)
{
	const struct acct *x = &c->acct;
	const char *contact;
	bool other;

	if (!acct_usable(c, true))
		return EXIT_RUNTIME;
	/* the contact set through the CLI once the CA accepted it, else
	 * the one the account was created with */
	contact = x->contact ? x->contact : c->cfg->email;
	if (contact && !*contact)
		contact = NULL;
	other = !x->directory || strcmp(x->directory, c->cfg->directory) != 0;
	cJSON *j = cJSON_CreateObject();
	add_str_or_null(j, "directory", x->directory);
	add_str_or_null(j, "url", x->url);
	add_str_or_null(j, "status",
			x->status ? x->status : (x->url ? NULL : "new"));
	add_str_or_null(j, "key_type", x->key_type[0] ? x->key_type : NULL);
	add_str_or_null(j, "key_thumbprint", x->thumb);
	add_str_or_null(j, "contact", contact);
	add_str_or_null(j, "error", x->error);
	cJSON_AddBoolToObject(j, "configured_directory", !other);
	if (o->json) {
		char *s = cJSON_Print(j);
		cJSON_Delete(j);
		if (!s)
			abort();
		printf("%s\n", s);
		free(s);
		return 0;
	}
	cJSON_Delete(j);
	printf("directory: %s\n", x->directory ? x->directory : "-");
	printf("url: %s\n", x->url ? x->url : "- (not registered yet)");
	printf("status: %s\n", x->status ? x->status : "new");
	printf("key_type: %s\n", x->key_type[0] ? x->key_type : "?");
	printf("key_thumbprint: %s\n", x->thumb);
	printf("contact: %s\n", contact ? contact : "-");
	printf("error: %s\n", x->error ? x->error : "-");
	if (other)
		printf("note: [acme] directory is now %s: acmedns serve "
		       "creates a new account for it at its next start\n",
		       c->cfg->directory);
	return 0;
}

static int
queue(struct ctx *c, const char *op, const char *arg)
{
	/* the request table wants a word as the domain id */
	return srv_cli__queue(c->st, c->cfg->store_path, op, "account", arg)
		   ? EXIT_RUNTIME
		   : 0;
}

static void
print_applied_note(void)
{
	printf("a running acmedns applies this within 2 s (otherwise at its "
	       "next start)\nand logs the outcome; see `acmedns account "
	       "show`\n");
}

static int
cmd_key_change(struct ctx *c, const struct opts *o)
{
	const char *kt = o->key_type ? o->key_type : c->cfg->account_key_type;

	if (!acct_usable(c, false))
		return EXIT_RUNTIME;
	if (queue(c, "key_change", kt))
		return EXIT_RUNTIME;
	printf("account key change to a new %s key queued (current key "
	       "thumbprint %s)\n",
	       kt, c->acct.thumb);
	print_applied_note();
	return 0;
}

static int
cmd_deactivate(struct ctx *c)
{
	if (!acct_usable(c, false))
		return EXIT_RUNTIME;
	if (queue(c, "deactivate", NULL))
		return EXIT_RUNTIME;
	printf("deactivation of account %s queued\n",
	       c->acct.url ? c->acct.url : "(not registered yet)");
	print_applied_note();
	return 0;
}

static int
cmd_contact(struct ctx *c, const struct opts *o)
{
	const char *email = o->args[0];

	if (!acct_usable(c, false))
		return EXIT_RUNTIME;
	if (queue(c, "contact", email))
		return EXIT_RUNTIME;
	printf("contact %s queued\n", *email ? email : "(none)");
	print_applied_note();
	return 0;
}

int
srv_cli_account(const char *cfg_path, int argc, char **argv)
{
	static const char *const ops[] = {"show", "key-change", "deactivate",
					  "contact"};
	struct opts o;
	struct ctx c;
	size_t k = 0;
	int rc;

	memset(&o, 0, sizeof(o));
	if (argc < 1)
		return usage_error("an operation is needed");
	if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
		printf("usage:\n%s", srv_cli_account_usage);
		return 0;
	}
	o.op = argv[0];
	while (k < AD_ARRAY_SIZE(ops) && strcmp(ops[k], o.op) != 0)
		k++;
	if (k == AD_ARRAY_SIZE(ops))
		return usage_error("unknown operation %s", o.op);
	o.cfg_path = cfg_path;
	rc = parse_opts(argc, argv, &o);
	if (rc < 0)
		rc = check_opts(&o);
	if (rc < 0 && strcmp(o.op, "contact") == 0 && !contact_valid(o.args[0]))
		rc = usage_error("not an email address (one address, no "
				 "spaces or commas, at most 254 "
				 "characters): %s",
				 o.args[0]);
	if (rc >= 0)
		return rc;
	rc = ctx_open(&c, o.cfg_path);
	if (rc < 0) {
		if (k == 0)
			rc = cmd_show(&c, &o);
		else if (k == 1)
			rc = cmd_key_change(&c, &o);
		else if (k == 2)
			rc = cmd_deactivate(&c);
		else
			rc = cmd_contact(&c, &o);
	}
	ctx_free(&c);
	return rc;
}
