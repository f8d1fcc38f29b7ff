/* SPDX-License-Identifier: MIT */
/*
 * `acmedns domains add|list|show|renew|revoke|delete`: the managed-domain
 * operations of contract §4.2 for the local administrator, on the store
 * opened synchronously (no daemon needed). Reads go straight to the
 * acme_domains rows; everything that needs the ACME engine (ordering,
 * renewal, revocation, deletion with its zone records and files) is
 * queued in acme_requests for the daemon, which takes the queue within
 * about 2 s, or at its next start. `add` also writes the domain row so
 * that list/show see it at once.
 *
 * Secrets: `add` without --user creates a registration and prints its
 * password once, which is that command's purpose; nothing here ever
 * prints a private key (show leaves key_pem and next_key_pem out, and
 * of the account row only its error and status are read). Such a new
 * registration is also queued ("register") so that a running daemon
 * loads it into its API within about 2 s.
 */
#include "acme/engine.h"
#include "acme/pki.h"
#include "common/errors.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "server/api.h"
#include "server/cli.h"
#include "server/config.h"
#include "server/creds.h"
#include "server/store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define EXIT_RUNTIME SRV_CLI_EXIT_RUNTIME
#define EXIT_USAGE SRV_CLI_EXIT_USAGE

const char srv_cli_domains_usage[] =
    "  domains add -c FILE [--user USERNAME] [--key-type TYPE]\n"
    "          [--tlsa PORT[/PROTO]]... [--csr FILE] [--hook CMD] NAME...\n"
    "                         manage a certificate for NAMEs (\"*.\" "
    "prefix for a\n"
    "                         wildcard); without --user, first create a "
    "registration\n"
    "                         and print its credentials (once); prints the "
    "CNAMEs\n"
    "                         to create. TYPE: ec256 (default), ec384, "
    "rsa2048,\n"
    "                         rsa3072, rsa4096\n"
    "  domains list -c FILE [--json]\n"
    "                         every managed domain: id, status, expiry, "
    "names\n"
    "  domains show -c FILE ID [--json]\n"
    "                         one domain in full (never its private key)\n"
    "  domains renew -c FILE ID\n"
    "  domains revoke -c FILE ID [--reason N]\n"
    "  domains delete -c FILE ID\n"
    "                         queued for the daemon: a running acmedns "
    "applies them\n"
    "                         within 2 s, otherwise at its next start\n";

/* ---- options ------------------------------------------------------------- */

struct opts {
	const char *op;
	const char *cfg_path;
	const char *user;
	const char *key_type;
	const char *csr_file;
	const char *hook;
	const char *reason;
	bool json;
	const char **tlsa; /* argv strings, ntlsa of them */
	size_t ntlsa;
	char **args; /* operands */
	size_t nargs;
};

#define usage_error(...)                                                       \
	srv_cli__usage_error("domains", srv_cli_domains_usage, __VA_ARGS__)

enum { O_USER = 256, O_KEYTYPE, O_TLSA, O_CSR, O_HOOK, O_REASON, O_JSON };

/* getopt_long over argv[0..argc) where argv[0] is the operation. Returns
 * -1 when parsed, else an exit code. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"user", required_argument, NULL, O_USER},
	    {"key-type", required_argument, NULL, O_KEYTYPE},
	    {"tlsa", required_argument, NULL, O_TLSA},
	    {"csr", required_argument, NULL, O_CSR},
	    {"hook", required_argument, NULL, O_HOOK},
	    {"reason", required_argument, NULL, O_REASON},
	    {"json", no_argument, NULL, O_JSON},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	o->tlsa = xcalloc((size_t)argc + 1, sizeof(*o->tlsa));
	optind = 0; /* glibc: full re-initialisation */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->cfg_path = optarg;
			break;
		case 'h':
			printf("usage:\n%s", srv_cli_domains_usage);
			return 0;
		case O_USER:
			o->user = optarg;
			break;
		case O_KEYTYPE:
			o->key_type = optarg;
			break;
		case O_TLSA:
			o->tlsa[o->ntlsa++] = optarg;
			break;
		case O_CSR:
			o->csr_file = optarg;
			break;
		case O_HOOK:
			o->hook = optarg;
			break;
		case O_REASON:
			o->reason = optarg;
			break;
		case O_JSON:
			o->json = true;
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

/* Options that belong to another operation are usage errors, not
 * silently ignored (a mistyped command must not half-work). */
static int
check_opts(const struct opts *o)
{
	bool add = strcmp(o->op, "add") == 0;
	bool lst = strcmp(o->op, "list") == 0;
	bool show = strcmp(o->op, "show") == 0;
	bool rev = strcmp(o->op, "revoke") == 0;

	if (!add &&
	    (o->user || o->key_type || o->csr_file || o->hook || o->ntlsa))
		return usage_error("--user, --key-type, --tlsa, --csr and "
				   "--hook belong to `domains add`");
	if (!rev && o->reason)
		return usage_error("--reason belongs to `domains revoke`");
	if (!lst && !show && o->json)
		return usage_error("--json belongs to list and show");
	if (lst && o->nargs)
		return usage_error("list takes no operand: %s", o->args[0]);
	if (!add && !lst && o->nargs != 1)
		return usage_error("%s needs exactly one domain ID", o->op);
	if (add && o->nargs == 0 && !o->csr_file)
		return usage_error("add needs at least one NAME (or --csr)");
	return -1;
}

/* ---- the store ----------------------------------------------------------- */

struct ctx {
	struct srv_config *cfg;
	struct srv_store *st;
	struct acme_domain *d; /* every stored domain */
	size_t nd;
	/* registration lookup */
	const char *want_user;
	bool user_found;
	char user_sub[SRV_UUID_LEN + 1];
	/* the account's last error as the daemon stored it, or NULL */
	char *account_error;
	bool account_deactivated;
};

static int
visit_domain(void *arg, const char *id, const char *owner, const char *json)
{
	struct ctx *c = arg;
	cJSON *j = cJSON_Parse(json);
	struct acme_domain d;
	memset(&d, 0, sizeof(d));
	if (!j || acme_domain_from_json(j, &d) != 0) {
		fprintf(stderr,
			"acmedns: warning: domain %.40s (owner %.40s): "
			"stored JSON is unreadable, skipped\n",
			id, owner);
		cJSON_Delete(j);
		acme_domain_clear(&d);
		return 0;
	}
	cJSON_Delete(j);
	c->d = xrealloc(c->d, (c->nd + 1) * sizeof(*c->d));
	c->d[c->nd++] = d;
	return 0;
}

/* Only the account's error is read (show adds it to a domain that is
 * not valid); the row holds the account key, so the parsed copy is
 * wiped before it is freed. */
static int
visit_account(void *arg, const char *json)
{
	struct ctx *c = arg;
	cJSON *j = cJSON_Parse(json);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");

	if (cJSON_IsString(e) && e->valuestring &&
	    strlen(e->valuestring) <= 1024) {
		free(c->account_error);
		c->account_error = xstrdup(e->valuestring);
	}
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
	c->account_deactivated = cJSON_IsString(st) && st->valuestring &&
				 strcmp(st->valuestring, "deactivated") == 0;
	for (cJSON *m = j ? j->child : NULL; m; m = m->next)
		if (cJSON_IsString(m) && m->valuestring)
			OPENSSL_cleanse(m->valuestring, strlen(m->valuestring));
	cJSON_Delete(j);
	return 0;
}

static int
visit_reg(void *arg, const struct srv_store_reg *r)
{
	struct ctx *c = arg;
	if (c->want_user && strcmp(r->username, c->want_user) == 0) {
		c->user_found = true;
		ad_strlcpy(c->user_sub, r->subdomain, sizeof(c->user_sub));
	}
	return 0;
}

static int
visit_txt(void *arg, const char *sub, const char *value, int64_t ms)
{
	(void)arg;
	(void)sub;
	(void)value;
	(void)ms;
	return 0;
}

static void
ctx_free(struct ctx *c)
{
	for (size_t i = 0; i < c->nd; i++)
		acme_domain_clear(&c->d[i]);
	free(c->d);
	free(c->account_error);
	if (c->st)
		srv_store_close(c->st);
	srv_config_free(c->cfg);
}

static int
ctx_open(struct ctx *c, const char *cfg_path)
{
	memset(c, 0, sizeof(*c));
	int ec = srv_cli__open(cfg_path, &c->cfg, &c->st);
	if (ec >= 0)
		return ec;
	struct srv_store_acme_visitor v = {.account = visit_account,
					   .domain = visit_domain};
	int rc = srv_store_acme_load(c->st, &v, c);
	if (rc != 0) {
		fprintf(stderr,
			"acmedns: cannot read managed domains from "
			"%s: %s\n",
			c->cfg->store_path, ad_strerror(rc));
		return EXIT_RUNTIME;
	}
	return -1;
}

static const struct acme_domain *
find_domain(const struct ctx *c, const char *arg)
{
	uint8_t u[16];
	char id[37];
	if (!srv_uuid_parse(arg, strlen(arg), u))
		return NULL;
	srv_uuid_format(u, id);
	for (size_t i = 0; i < c->nd; i++)
		if (strcmp(c->d[i].id, id) == 0)
			return &c->d[i];
	return NULL;
}

static int
queue_request(struct ctx *c, const char *op, const char *id, const char *arg)
{
	return srv_cli__queue(c->st, c->cfg->store_path, op, id, arg);
}

static void
print_applied_note(void)
{
	printf("a running acmedns applies this within 2 s; otherwise it "
	       "happens at its next start\n");
}

/* ---- list, show ---------------------------------------------------------- */

static void
fmt_time(int64_t t, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (t <= 0 || !gmtime_r(&tt, &tm) ||
	    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		ad_strlcpy(buf, "-", cap);
}

static void
print_json(cJSON *j)
{
	char *s = cJSON_Print(j);
	cJSON_Delete(j);
	if (!s)
		abort();
	printf("%s\n", s);
	free(s);
}

static int
cmd_list(struct ctx *c, const struct opts *o)
{
	if (o->json) {
		cJSON *a = cJSON_CreateArray();
		for (size_t i = 0; i < c->nd; i++) {
			const struct acme_domain *d = &c->d[i];
			cJSON *e = srv_domain_json(c->cfg->domain, d);
			cJSON_AddStringToObject(e, "owner", d->owner);
			cJSON_AddItemToArray(a, e);
		}
		print_json(a);
		return 0;
	}
	if (c->nd == 0) {
		printf("no managed domains\n");
		return 0;
	}
	printf("%-36s  %-19s  %-20s  %s\n", "ID", "STATUS", "NOT_AFTER",
	       "NAMES");
	for (size_t i = 0; i < c->nd; i++) {
		const struct acme_domain *d = &c->d[i];
		char na[32];
		const char *st = acme_dstatus_name(d->status);
		fmt_time(d->not_after, na, sizeof(na));
		printf("%-36s  %-19s  %-20s ", d->id, st ? st : "?", na);
		for (size_t k = 0; k < d->nnames; k++)
			printf(" %s", d->names[k]);
		printf("\n");
	}
	return 0;
}

static const char *const files[] = {"fullchain.pem", "cert.pem", "chain.pem",
				    "key.pem"};

static int
cmd_show(struct ctx *c, const struct opts *o)
{
	const struct acme_domain *d = find_domain(c, o->args[0]);
	if (!d) {
		fprintf(stderr, "acmedns: no such domain: %s\n", o->args[0]);
		return EXIT_RUNTIME;
	}
	char path[4096];
	cJSON *j = srv_domain_json(c->cfg->domain, d);
	srv_domain_json_account(j, d, c->account_error);
	cJSON_AddStringToObject(j, "owner", d->owner);
	cJSON_AddStringToObject(j, "subdomain", d->subdomain);
	cJSON_AddNumberToObject(j, "failures", d->failures);
	char na[32];
	fmt_time(d->next_attempt, na, sizeof(na));
	cJSON_AddStringToObject(j, "next_attempt", na);
	if (d->deploy_hook)
		cJSON_AddStringToObject(j, "deploy_hook", d->deploy_hook);
	cJSON *fo = cJSON_AddObjectToObject(j, "files");
	for (size_t i = 0; i < AD_ARRAY_SIZE(files); i++) {
		if (d->csr_pem && strcmp(files[i], "key.pem") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", c->cfg->certs_dir,
			 d->id, files[i]);
		cJSON_AddStringToObject(fo, files[i], path);
	}
	if (o->json) {
		print_json(j);
		return 0;
	}
	/* the same content as key: value lines */
	const cJSON *m;
	cJSON_ArrayForEach(m, j)
	{
		const cJSON *e;
		if (strcmp(m->string, "cnames") == 0) {
			cJSON_ArrayForEach(e, m)
			{
				printf(
				    "cname: %s CNAME %s\n",
				    cJSON_GetObjectItem(e, "name")->valuestring,
				    cJSON_GetObjectItem(e, "target")
					->valuestring);
			}
		} else if (strcmp(m->string, "names") == 0) {
			printf("names:");
			cJSON_ArrayForEach(e, m) printf(" %s", e->valuestring);
			printf("\n");
		} else if (strcmp(m->string, "tlsa") == 0) {
			printf("tlsa:");
			cJSON_ArrayForEach(e, m)
			{
				printf(" %d/%s",
				       cJSON_GetObjectItem(e, "port")->valueint,
				       cJSON_GetObjectItem(e, "proto")
					   ->valuestring);
			}
			printf("\n");
		} else if (strcmp(m->string, "files") == 0) {
			cJSON_ArrayForEach(e, m)
			{
				bool there = access(e->valuestring, F_OK) == 0;
				printf("file: %s%s\n", e->valuestring,
				       there ? "" : " (not written yet)");
			}
		} else if (cJSON_IsString(m)) {
			printf("%s: %s\n", m->string, m->valuestring);
		} else if (cJSON_IsBool(m)) {
			printf("%s: %s\n", m->string,
			       cJSON_IsTrue(m) ? "yes" : "no");
		} else if (cJSON_IsNumber(m)) {
			printf("%s: %d\n", m->string, m->valueint);
		} else {
			printf("%s: -\n", m->string);
		}
	}
	cJSON_Delete(j);
	return 0;
}

/* ---- renew, revoke, delete ---------------------------------------------- */

static int
cmd_queue(struct ctx *c, const struct opts *o)
{
	const struct acme_domain *d = find_domain(c, o->args[0]);
	char reason[8] = "";
	if (o->reason) {
		char *end;
		errno = 0;
		long r = strtol(o->reason, &end, 10);
		/* RFC 5280 §5.3.1 CRLReason: 0..10, 7 is unused */
		if (errno || end == o->reason || *end || r < 0 || r > 10 ||
		    r == 7)
			return usage_error("--reason must be 0..10 other than "
					   "7, not %s",
					   o->reason);
		snprintf(reason, sizeof(reason), "%ld", r);
	}
	if (!d) {
		fprintf(stderr, "acmedns: no such domain: %s\n", o->args[0]);
		return EXIT_RUNTIME;
	}
	if (strcmp(o->op, "renew") == 0 && c->account_deactivated) {
		fprintf(stderr, "acmedns: the ACME account is deactivated: "
				"nothing can be renewed with it\n");
		return EXIT_RUNTIME;
	}
	if (strcmp(o->op, "revoke") == 0 && !d->cert_pem) {
		fprintf(stderr,
			"acmedns: domain %s has no certificate to "
			"revoke\n",
			d->id);
		return EXIT_RUNTIME;
	}
	if (queue_request(c, o->op, d->id, reason[0] ? reason : NULL))
		return EXIT_RUNTIME;
	printf("%s of domain %s queued\n",
	       strcmp(o->op, "renew") == 0    ? "renewal"
	       : strcmp(o->op, "revoke") == 0 ? "revocation"
					      : "deletion",
	       d->id);
	print_applied_note();
	return 0;
}

/* ---- add ----------------------------------------------------------------- */

/* Read a small file whole (NUL-terminated). 0 or -errno / AD_ELIMIT. */
static int
read_small(const char *path, size_t max, char **out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	char *buf = xmalloc(max + 2);
	size_t n = fread(buf, 1, max + 1, f);
	int err = ferror(f) ? -EIO : 0;
	fclose(f);
	if (err == 0 && n > max)
		err = AD_ELIMIT;
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/* "443", "443/tcp" -> port, proto. */
static bool
parse_tlsa(const char *s, struct acme_tlsa_port *t)
{
	char *end;
	errno = 0;
	long p = strtol(s, &end, 10);
	if (errno || end == s || p < 1 || p > 65535)
		return false;
	const char *proto = "tcp";
	if (*end == '/')
		proto = end + 1;
	else if (*end)
		return false;
	if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 &&
	    strcmp(proto, "sctp") != 0)
		return false;
	t->port = (uint16_t)p;
	ad_strlcpy(t->proto, proto, sizeof(t->proto));
	return true;
}

/* Lower-case, drop one final dot, validate, refuse duplicates; appends
 * to d->names. Prints why and returns false on a bad name. */
static bool
add_name(struct acme_domain *d, const char *in)
{
	size_t l = strlen(in);
	if (l > 1 && in[l - 1] == '.')
		l--;
	if (l > 255) {
		fprintf(stderr, "acmedns: name too long: %.60s...\n", in);
		return false;
	}
	char *n = xmalloc(l + 1);
	for (size_t i = 0; i < l; i++)
		n[i] =
		    (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] + 32) : in[i];
	n[l] = '\0';
	if (!srv_api_domain_name_valid(n, l)) {
		fprintf(stderr,
			"acmedns: not a host name or \"*.\" + host "
			"name: %s\n",
			in);
		free(n);
		return false;
	}
	for (size_t i = 0; i < d->nnames; i++) {
		if (strcmp(d->names[i], n) == 0) {
			fprintf(stderr, "acmedns: duplicate name: %s\n", n);
			free(n);
			return false;
		}
	}
	if (d->nnames >= ACME_MAX_NAMES) {
		fprintf(stderr, "acmedns: more than %d names\n",
			ACME_MAX_NAMES);
		free(n);
		return false;
	}
	d->names = xrealloc(d->names, (d->nnames + 2) * sizeof(char *));
	d->names[d->nnames++] = n;
	d->names[d->nnames] = NULL;
	return true;
}

/* Same set of names, in any order. */
static bool
same_names(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		size_t k = 0;
		while (k < nb && strcmp(a[i], b[k]) != 0)
			k++;
		if (k == nb)
			return false;
	}
	return true;
}

/* --csr FILE: the CSR's names are the domain's (or must equal NAMEs). */
static int
add_csr(struct acme_domain *d, const char *file)
{
	char *pem = NULL;
	int rc = read_small(file, SRV_API_MAX_CSR, &pem);
	if (rc != 0) {
		fprintf(stderr, "acmedns: %s: %s\n", file,
			rc == AD_ELIMIT ? "larger than 16 KiB"
					: ad_strerror(rc));
		return EXIT_RUNTIME;
	}
	char **names = NULL;
	size_t n = 0, derlen = 0;
	uint8_t *der = NULL;
	EVP_PKEY *pub = NULL;
	rc = acme_csr_parse(pem, strlen(pem), &names, &n, &der, &derlen, &pub);
	free(der);
	if (rc != 0) {
		fprintf(stderr, "acmedns: %s: not a valid CSR (%s)\n", file,
			ad_strerror(rc));
		free(pem);
		return EXIT_RUNTIME;
	}
	enum acme_keytype kt;
	if (pub && acme_key_type(pub, &kt) == 0)
		d->key_type = kt;
	EVP_PKEY_free(pub);
	if (d->nnames == 0) {
		for (size_t i = 0; i < n; i++) {
			if (!add_name(d, names[i])) {
				acme_names_free(names);
				free(pem);
				return EXIT_RUNTIME;
			}
		}
	} else if (!same_names(d->names, d->nnames, names, n)) {
		fprintf(stderr, "acmedns: the names given differ from the "
				"CSR's names\n");
		acme_names_free(names);
		free(pem);
		return EXIT_RUNTIME;
	}
	acme_names_free(names);
	d->csr_pem = pem;
	return 0;
}

static int
owner_domains(const struct ctx *c, const char *owner)
{
	int n = 0;
	for (size_t i = 0; i < c->nd; i++)
		n += strcmp(c->d[i].owner, owner) == 0;
	return n;
}

/* A new registration, like POST /register (any client address). */
static int
new_registration(struct ctx *c, char user[37], char sub[37])
{
	char pw[SRV_KEY_LEN + 1], hash[SRV_HASH_TEXT];
	struct srv_hash h;
	int st = AD_EIO, rc;

	if (srv_uuid4(user) || srv_uuid4(sub) || srv_key_new(pw) ||
	    srv_hash_new(pw, SRV_KEY_LEN, &h)) {
		fprintf(stderr, "acmedns: no randomness for credentials\n");
		return EXIT_RUNTIME;
	}
	srv_hash_format(&h, hash, sizeof(hash));
	struct srv_store_reg r = {.allowfrom = "[]",
				  .created = (int64_t)(ad_now_ms() / 1000)};
	ad_strlcpy(r.username, user, sizeof(r.username));
	ad_strlcpy(r.subdomain, sub, sizeof(r.subdomain));
	ad_strlcpy(r.hash, hash, sizeof(r.hash));
	rc = srv_store_reg_put(c->st, &r, srv_cli__on_sync, &st);
	OPENSSL_cleanse(hash, sizeof(hash));
	OPENSSL_cleanse(&r, sizeof(r));
	if (rc == 0)
		rc = st;
	if (rc != 0) {
		OPENSSL_cleanse(pw, sizeof(pw));
		fprintf(stderr, "acmedns: cannot store the registration: %s\n",
			ad_strerror(rc));
		return EXIT_RUNTIME;
	}
	/* a running daemon loaded its registrations at start: ask it to
	 * load this one too (it polls the queue every 2 s), so that the
	 * credentials work at once, not only after a restart */
	if (srv_cli__queue(c->st, c->cfg->store_path, "register", user, user))
		fprintf(stderr, "acmedns: warning: the running daemon was not "
				"told about the registration: it knows it "
				"after a restart\n");
	/* printing the key is this command's purpose: shown once only */
	printf("registration created (the password is shown only once):\n"
	       "username: %s\npassword: %s\nsubdomain: %s\n"
	       "fulldomain: %s.%s\n",
	       user, pw, sub, sub, c->cfg->domain);
	OPENSSL_cleanse(pw, sizeof(pw));
	return -1;
}

static int
cmd_add(struct ctx *c, const struct opts *o)
{
	struct acme_domain d;
	char user[37], sub[37];
	int rc = EXIT_RUNTIME;

	memset(&d, 0, sizeof(d));
	/* everything the user typed is checked before anything is stored */
	enum acme_keytype kt;
	const char *kts = o->key_type ? o->key_type : c->cfg->key_type;
	if (acme_keytype_parse(kts, &kt) != 0)
		return usage_error("unknown key type %s (ec256, ec384, "
				   "rsa2048, rsa3072, rsa4096)",
				   kts);
	if (o->key_type && o->csr_file)
		return usage_error("--key-type does not apply to --csr (the "
				   "CSR brings its key)");
	d.key_type = kt;
	if (o->ntlsa > ACME_MAX_TLSA)
		return usage_error("at most 8 --tlsa");
	for (size_t i = 0; i < o->ntlsa; i++) {
		struct acme_tlsa_port *t = &d.tlsa[d.ntlsa];
		if (!parse_tlsa(o->tlsa[i], t))
			return usage_error("--tlsa wants PORT or PORT/PROTO "
					   "(tcp, udp, sctp), not %s",
					   o->tlsa[i]);
		for (size_t k = 0; k < d.ntlsa; k++)
			if (d.tlsa[k].port == t->port &&
			    strcmp(d.tlsa[k].proto, t->proto) == 0)
				return usage_error("--tlsa %s given twice",
						   o->tlsa[i]);
		d.ntlsa++;
	}
	for (size_t i = 0; i < o->nargs; i++) {
		if (!add_name(&d, o->args[i])) {
			acme_domain_clear(&d);
			return EXIT_USAGE;
		}
	}
	if (o->csr_file && (rc = add_csr(&d, o->csr_file)) != 0)
		goto out;
	rc = EXIT_RUNTIME;

	if (o->user) {
		uint8_t u[16];
		if (!srv_uuid_parse(o->user, strlen(o->user), u)) {
			fprintf(stderr, "acmedns: no such registration: %s\n",
				o->user);
			goto out;
		}
		srv_uuid_format(u, user);
		struct srv_store_visitor v = {.reg = visit_reg,
					      .txt = visit_txt};
		c->want_user = user;
		int lr = srv_store_load(c->st, &v, c);
		if (lr != 0) {
			fprintf(stderr,
				"acmedns: cannot read registrations: "
				"%s\n",
				ad_strerror(lr));
			goto out;
		}
		if (!c->user_found) {
			fprintf(stderr, "acmedns: no such registration: %s\n",
				o->user);
			goto out;
		}
		ad_strlcpy(sub, c->user_sub, sizeof(sub));
		if (owner_domains(c, user) >= SRV_API_MAX_DOMAINS) {
			fprintf(stderr,
				"acmedns: registration %s manages %d "
				"domains already (the limit)\n",
				user, SRV_API_MAX_DOMAINS);
			goto out;
		}
	} else {
		int r = new_registration(c, user, sub);
		if (r >= 0) {
			rc = r;
			goto out;
		}
	}

	if (srv_uuid4(d.id)) {
		fprintf(stderr, "acmedns: no randomness for the domain id\n");
		goto out;
	}
	ad_strlcpy(d.owner, user, sizeof(d.owner));
	ad_strlcpy(d.subdomain, sub, sizeof(d.subdomain));
	d.created = (int64_t)(ad_now_ms() / 1000);
	if (o->hook)
		d.deploy_hook = xstrdup(o->hook);
	/* the engine starts with the CNAME check unless it is turned off */
	d.status = c->cfg->check_delegation ? ACME_DS_AWAITING_DELEGATION
					    : ACME_DS_PENDING;

	cJSON *j = acme_domain_to_json(&d);
	char *json = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (!json) {
		fprintf(stderr, "acmedns: cannot encode the domain\n");
		goto out;
	}
	int st = AD_EIO;
	int sr = srv_store_domain_put(c->st, d.id, d.owner, json,
				      srv_cli__on_sync, &st);
	if (sr == 0)
		sr = st;
	if (sr != 0) {
		fprintf(stderr, "acmedns: cannot store the domain: %s\n",
			ad_strerror(sr));
		free(json);
		goto out;
	}
	sr = queue_request(c, "add", d.id, json);
	free(json);
	if (sr != 0)
		goto out;

	printf("id: %s\nnames:", d.id);
	for (size_t i = 0; i < d.nnames; i++)
		printf(" %s", d.names[i]);
	printf("\nstatus: %s\n", acme_dstatus_name(d.status));
	size_t cap = SRV_DOMAIN_CNAMES_MAX(&d);
	struct srv_domain_cname *cn = xcalloc(cap ? cap : 1, sizeof(*cn));
	size_t n = srv_domain_cnames(c->cfg->domain, &d, cn, cap);
	if (n)
		printf("create these CNAME records in the zones of the "
		       "names:\n");
	for (size_t i = 0; i < n; i++)
		printf("cname: %s CNAME %s\n", cn[i].name, cn[i].target);
	srv_domain_cnames_free(cn, n);
	free(cn);
	print_applied_note();
	rc = 0;
out:
	acme_domain_clear(&d);
	return rc;
}

/* ---- entry --------------------------------------------------------------- */

int
srv_cli_domains(const char *cfg_path, int argc, char **argv)
{
	static const char *const ops[] = {"add",   "list",   "show",
					  "renew", "revoke", "delete"};
	struct opts o;
	struct ctx c;
	int rc;

	memset(&o, 0, sizeof(o));
	if (argc < 1)
		return usage_error("an operation is needed");
	if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
		printf("usage:\n%s", srv_cli_domains_usage);
		return 0;
	}
	o.op = argv[0];
	size_t k = 0;
	while (k < AD_ARRAY_SIZE(ops) && strcmp(ops[k], o.op) != 0)
		k++;
	if (k == AD_ARRAY_SIZE(ops))
		return usage_error("unknown operation %s", o.op);
	o.cfg_path = cfg_path;
	rc = parse_opts(argc, argv, &o);
	if (rc < 0)
		rc = check_opts(&o);
	if (rc >= 0) {
		free(o.tlsa);
		return rc;
	}
	rc = ctx_open(&c, o.cfg_path);
	if (rc < 0) {
		if (strcmp(o.op, "add") == 0)
			rc = cmd_add(&c, &o);
		else if (strcmp(o.op, "list") == 0)
			rc = cmd_list(&c, &o);
		else if (strcmp(o.op, "show") == 0)
			rc = cmd_show(&c, &o);
		else
			rc = cmd_queue(&c, &o);
	}
	ctx_free(&c);
	free(o.tlsa);
	return rc;
}
