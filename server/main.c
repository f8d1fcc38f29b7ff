/* SPDX-License-Identifier: MIT */
/*
 * acmedns: the composition root. Parses the command line, loads the
 * configuration, builds the zone, opens the store, starts the ACME side
 * (server/acme.h) and the REST API, binds the DNS listeners, drops
 * privileges and runs the libuv loop until SIGTERM/SIGINT. SIGHUP reloads
 * the static records from the configuration without dropping queries
 * (the loop is single-threaded: the swap happens between two queries).
 * With [api] tls = acme the HTTPS listener starts when the engine hands
 * over the API's certificate, and renewals are loaded in place.
 *
 * All state lives in struct app, passed explicitly; nothing global.
 */
#include "common/errors.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "server/acme.h"
#include "server/api.h"
#include "server/cli.h"
#include "server/config.h"
#include "server/dns.h"
#include "server/http.h"
#include "server/privdrop.h"
#include "server/store.h"
#include "zones/zone.h"

#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define EXIT_USAGE 2

struct app {
	uv_loop_t loop;
	uv_signal_t sig_term, sig_int, sig_hup;
	const char *cfg_path;
	struct srv_config *cfg;
	/* the configuration srv_acme borrows: kept until exit even when a
	 * SIGHUP replaces cfg ([acme] changes need a restart) */
	struct srv_config *acme_cfg;
	struct zone *zone;
	struct srv_dns *dns;
	struct srv_store *store;
	struct srv_acme *acme;
	struct srv_api *api;
	struct srv_http *http;
	/* [api] tls = acme: the certificate files once issued */
	char *acme_cert, *acme_key;
	bool serving; /* start-up done: a late certificate starts HTTPS */
	bool stopping;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: acmedns COMMAND [-c FILE] [ARGS]\n"
		"\n"
		"Authoritative DNS server for a delegated ACME challenge zone,\n"
		"with an acme-dns compatible REST API and an in-process ACME\n"
		"client that issues and renews certificates through it.\n"
		"\n"
		"commands:\n"
		"  serve -c FILE          run the daemon in the foreground; logs "
		"to stderr;\n"
		"                         SIGTERM/SIGINT stop it, SIGHUP reloads "
		"static records\n"
		"  check-config -c FILE   validate FILE and print the effective "
		"configuration\n"
		"                         (secrets masked); exit 1 on errors\n"
		"  import-acme-dns -c FILE PATH\n"
		"                         import the registrations of a "
		"joohoi/acme-dns\n"
		"                         SQLite database into [store] path; "
		"their\n"
		"                         credentials keep working\n"
		"%s"
		"%s"
		"  --version              print the version\n"
		"  --help                 this text\n"
		"\n"
		"options:\n"
		"  -c, --config FILE      configuration file (default: "
		"$ACMEDNS_CONFIG,\n"
		"                         else /etc/acmedns/acmedns.conf)\n"
		"\n"
		"Every configuration key can be overridden with the environment\n"
		"variable ACMEDNS_<SECTION>_<KEY>, e.g. ACMEDNS_DNS_LISTEN.\n"
		"Exit status: 0 success, 1 runtime error, 2 usage error.\n",
		srv_cli_domains_usage, srv_cli_account_usage);
}

static int
load_config(const char *path, struct srv_config **cfg)
{
	char err[1024];
	if (srv_config_load(path, environ, cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	return 0;
}

/* The zone's parameters as the configuration sets them. */
static void
zone_params_from(const struct srv_config *cfg, struct zone_params *zp)
{
	*zp = (struct zone_params){
		.domain = cfg->domain,
		.nsadmin = cfg->nsadmin,
		.mname = cfg->nsname,
		.soa_ttl = cfg->soa_ttl,
		.refresh = cfg->refresh,
		.retry = cfg->retry,
		.expire = cfg->expire,
		.minimum = cfg->minimum,
		/* a fresh start must not go below a serial secondaries or
		 * caches have seen: unix time grows faster than our bumps */
		.serial = (uint32_t)(ad_now_ms() / 1000),
		.edns_size = (uint16_t)cfg->edns_size,
		.txt_ttl = cfg->txt_ttl,
		.txt_max_age_ms = (uint64_t)cfg->txt_max_age * 1000,
		.version = *cfg->version ? cfg->version : NULL,
		.identity = *cfg->identity ? cfg->identity : NULL,
	};
}

static int
cmd_check_config(const char *path)
{
	struct srv_config *cfg;
	struct zone *z;
	char err[1024];
	int rc = 0;

	if (load_config(path, &cfg))
		return 1;
	/* records are part of validity: parse them into a scratch zone */
	struct zone_params zp;
	zone_params_from(cfg, &zp);
	if (zone_create(&zp, &z) != 0) {
		fprintf(stderr, "%s: invalid [zone] names\n", path);
		srv_config_free(cfg);
		return 1;
	}
	if (srv_zone_load_static(z, cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		rc = 1;
	} else {
		srv_config_dump(cfg, stdout);
	}
	zone_free(z);
	srv_config_free(cfg);
	return rc;
}

static int
make_zone(const struct srv_config *cfg, struct zone **out)
{
	char err[1024];
	struct zone_params zp;
	zone_params_from(cfg, &zp);
	int r = zone_create(&zp, out);
	if (r != 0) {
		ad_err("zone", "cannot create zone %s: %s", cfg->domain,
		       ad_strerror(r));
		return 1;
	}
	if (srv_zone_load_static(*out, cfg, err, sizeof(err)) != 0) {
		ad_err("zone", "%s", err);
		zone_free(*out);
		*out = NULL;
		return 1;
	}
	/* ldns allocates per parsed record; hand that heap back */
	malloc_trim(0);
	return 0;
}

static int
cmd_import(const char *path, const char *src)
{
	struct srv_config *cfg;
	struct srv_store *st;
	struct srv_import_stats is = {0};
	char err[1024];
	int rc = 1;

	if (load_config(path, &cfg))
		return 1;
	if (srv_store_open(NULL, cfg->store_path, &st, err, sizeof(err))) {
		fprintf(stderr, "acmedns: %s\n", err);
		goto out;
	}
	if (srv_store_import_acmedns(st, src, &is, err, sizeof(err)) != 0) {
		fprintf(stderr, "acmedns: import failed, nothing imported: "
				"%s\n", err);
	} else {
		printf("imported %zu registrations and %zu TXT values from "
		       "%s into %s (%zu skipped)\n",
		       is.regs, is.txts, src, cfg->store_path, is.skipped);
		rc = 0;
	}
	srv_store_close(st);
out:
	srv_config_free(cfg);
	return rc;
}

static void
on_signal_closed(uv_handle_t *h)
{
	(void)h;
}

static void
app_stop(struct app *a)
{
	if (a->stopping)
		return;
	a->stopping = true;
	if (a->http)
		srv_http_stop(a->http);
	a->http = NULL;
	srv_dns_stop(a->dns);
	a->dns = NULL;
	srv_api_set_dns(a->api, NULL);
	/* writes still queued commit and answer their (closed) requests;
	 * the store's async handle closes, so the loop can end. The API's
	 * commit callbacks may still call into srv_acme, so it goes right
	 * after the drain - before the loop runs again and frees the
	 * store, which the engine's timers would otherwise write to. */
	srv_store_close(a->store);
	a->store = NULL;
	srv_acme_free(a->acme);
	a->acme = NULL;
	uv_close((uv_handle_t *)&a->sig_term, on_signal_closed);
	uv_close((uv_handle_t *)&a->sig_int, on_signal_closed);
	uv_close((uv_handle_t *)&a->sig_hup, on_signal_closed);
}

static void
app_reload(struct app *a)
{
	struct srv_config *cfg;
	char err[1024];

	ad_info("main", "SIGHUP: reloading static records from %s",
		a->cfg_path);
	if (srv_config_load(a->cfg_path, environ, &cfg, err, sizeof(err))) {
		ad_err("main", "reload failed, keeping the running "
			       "configuration: %s", err);
		return;
	}
	if (strcmp(cfg->domain, a->cfg->domain) != 0)
		ad_warn("main", "reload: [zone] domain changed; a restart is "
				"needed for that, records are checked against "
				"%s", a->cfg->domain);
	if (srv_zone_load_static(a->zone, cfg, err, sizeof(err)) != 0) {
		ad_err("main", "reload failed, keeping the running "
			       "records: %s", err);
		srv_config_free(cfg);
		return;
	}
	ad_info("main", "reloaded: %zu names, serial %u",
		zone_node_count(a->zone), zone_serial(a->zone));
	if (a->http && srv_http_reload_tls(a->http, err, sizeof(err)) != 0)
		ad_err("main", "TLS certificate reload failed, keeping the "
			       "old one: %s", err);
	if (a->acme)
		ad_info("main", "reload: changes to [acme], [certs] and [api] "
				"tls take effect at the next restart");
	srv_api_set_config(a->api, cfg);
	if (a->cfg != a->acme_cfg)
		srv_config_free(a->cfg);
	a->cfg = cfg;
	malloc_trim(0);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	struct app *a = h->data;
	if (signum == SIGHUP) {
		app_reload(a);
		return;
	}
	ad_info("main", "%s: shutting down",
		signum == SIGTERM ? "SIGTERM" : "SIGINT");
	app_stop(a);
}

/* Bind the REST API (plain, tls = file, or tls = acme with the engine's
 * certificate). 0 or nonzero with err. */
static int
start_api(struct app *a, char *err, size_t errlen)
{
	const struct srv_config *cfg = a->cfg;
	const char *cert = NULL, *key = NULL;

	if (cfg->tls == SRV_TLS_FILE) {
		cert = cfg->tls_cert;
		key = cfg->tls_key;
	} else if (cfg->tls == SRV_TLS_ACME) {
		cert = a->acme_cert;
		key = a->acme_key;
	}
	struct srv_http_opts hopts = {
		.listen = cfg->api_listen,
		.nlisten = cfg->n_api_listen,
		.limits = {.max_header_bytes = 8192,
			   .max_headers = 64,
			   .max_body_bytes = 65536},
		.read_timeout_ms = 10000,
		.idle_timeout_ms = 60000,
		.max_clients = 512,
		.max_requests = 1000,
		.tls_cert = cert,
		.tls_key = key,
		.handler = srv_api_handle,
		.ctx = a->api,
	};
	if (srv_http_start(&a->loop, &hopts, &a->http, err, errlen))
		return 1;
	for (size_t i = 0; i < cfg->n_api_listen; i++)
		ad_info("api", "listening on %s (%s)", cfg->api_listen[i].text,
			cert ? "https" : "http");
	return 0;
}

/*
 * srv_acme's api_cert: the certificate for [api] tls = acme exists or was
 * renewed. Before start-up is done the paths are only noted (start_api
 * uses them); afterwards the first one starts the HTTPS listener and
 * later ones reload it in place (the paths are stable symlinks).
 */
static void
on_api_cert(void *arg, const char *cert, const char *key)
{
	struct app *a = arg;
	char err[1024];

	free(a->acme_cert);
	free(a->acme_key);
	a->acme_cert = xstrdup(cert);
	a->acme_key = xstrdup(key);
	if (!a->serving || a->stopping)
		return;
	if (a->http) {
		if (srv_http_reload_tls(a->http, err, sizeof(err)) != 0)
			ad_err("api", "new certificate not loaded, keeping "
				      "the old one: %s", err);
		return;
	}
	if (a->cfg->n_api_listen == 0)
		return;
	/* after the privilege drop: a port below 1024 fails here, see
	 * acmedns.conf [api] tls_domain */
	if (start_api(a, err, sizeof(err)) != 0)
		ad_err("api", "cannot start HTTPS with the new certificate: "
			      "%s", err);
}

/* srv_acme's registration loader: the API owns the table. */
static int
load_registration(void *arg, const char *username)
{
	return srv_api_load_registration(arg, username);
}

static int
cmd_serve(const char *path)
{
	struct app a;
	char err[1024];
	int rc = 1;

	memset(&a, 0, sizeof(a));
	a.cfg_path = path;
	if (load_config(path, &a.cfg))
		return 1;
	enum ad_log_level lvl;
	if (ad_log_level_parse(a.cfg->log_level, &lvl) == 0)
		ad_log_set_level(lvl);
	if (make_zone(a.cfg, &a.zone))
		goto out_cfg;

	uv_loop_init(&a.loop);
	if (srv_store_open(&a.loop, a.cfg->store_path, &a.store, err,
			   sizeof(err)) != 0) {
		fprintf(stderr, "acmedns: %s\n", err);
		goto out_loop;
	}
	/* before the API, which borrows it (srv_api_opts.acme); its engine
	 * starts talking to the CA only once the loop runs, when DNS
	 * answers already */
	struct srv_acme_opts copts = {
		.loop = &a.loop,
		.cfg = a.cfg,
		.zone = a.zone,
		.store = a.store,
		.api_cert = on_api_cert,
		.api_cert_arg = &a,
	};
	if (srv_acme_new(&copts, &a.acme, err, sizeof(err)) != 0) {
		fprintf(stderr, "acmedns: acme: %s\n", err);
		goto out_store;
	}
	if (a.acme)
		a.acme_cfg = a.cfg;
	struct srv_api_opts aopts = {
		.loop = &a.loop,
		.cfg = a.cfg,
		.zone = a.zone,
		.store = a.store,
		.acme = a.acme,
	};
	if (srv_api_new(&aopts, &a.api, err, sizeof(err)) != 0 ||
	    srv_api_load(a.api, err, sizeof(err)) != 0) {
		fprintf(stderr, "acmedns: %s\n", err);
		goto out_store;
	}
	/* `acmedns domains add` without --user: its registration reaches
	 * the API through the ACME side's request queue */
	srv_acme_set_registration_loader(a.acme, load_registration, a.api);
	malloc_trim(0);
	struct srv_dns_opts dopts = {
		.listen = a.cfg->dns_listen,
		.nlisten = a.cfg->n_dns_listen,
		.tcp_idle_ms = a.cfg->tcp_idle_timeout * 1000,
		.tcp_max_clients = a.cfg->tcp_max_clients,
		.tcp_max_queries = a.cfg->tcp_max_queries,
		.own_thread = true,
	};
	if (srv_dns_start(&a.loop, a.zone, &dopts, &a.dns, err, sizeof(err))) {
		ad_err("dns", "%s", err);
		fprintf(stderr, "acmedns: cannot listen: %s\n", err);
		goto out_store;
	}
	srv_api_set_dns(a.api, a.dns);
	if (a.cfg->n_api_listen > 0 && a.cfg->tls == SRV_TLS_ACME &&
	    !a.acme_cert) {
		ad_info("api", "[api] tls = acme: HTTPS starts once the API "
			       "certificate is issued");
	} else if (a.cfg->n_api_listen > 0) {
		if (start_api(&a, err, sizeof(err))) {
			ad_err("api", "%s", err);
			fprintf(stderr, "acmedns: cannot listen: %s\n", err);
			srv_dns_stop(a.dns);
			a.dns = NULL;
			goto out_store;
		}
	}
	if (srv_drop_privileges(a.cfg->user, a.cfg->group, err, sizeof(err))) {
		ad_err("main", "%s", err);
		if (a.http)
			srv_http_stop(a.http);
		a.http = NULL;
		srv_dns_stop(a.dns);
		a.dns = NULL;
		goto out_store;
	}
	if (geteuid() == 0)
		ad_warn("main", "running as root: set [server] user to drop "
				"privileges after binding");

	uv_signal_init(&a.loop, &a.sig_term);
	uv_signal_init(&a.loop, &a.sig_int);
	uv_signal_init(&a.loop, &a.sig_hup);
	a.sig_term.data = a.sig_int.data = a.sig_hup.data = &a;
	uv_signal_start(&a.sig_term, on_signal, SIGTERM);
	uv_signal_start(&a.sig_int, on_signal, SIGINT);
	uv_signal_start(&a.sig_hup, on_signal, SIGHUP);
	signal(SIGPIPE, SIG_IGN);

	for (size_t i = 0; i < a.cfg->n_dns_listen; i++)
		ad_info("dns", "listening on %s (udp, tcp)",
			a.cfg->dns_listen[i].text);
	a.serving = true;
	ad_info("main", "acmedns %s serving %s (%zu names, %zu "
			"registrations, serial %u)",
		ACMEDNS_VERSION, zone_apex_str(a.zone),
		zone_node_count(a.zone), srv_api_registrations(a.api),
		zone_serial(a.zone));

	uv_run(&a.loop, UV_RUN_DEFAULT);
	rc = 0;
out_store:
	if (a.store)
		srv_store_close(a.store);
	a.store = NULL;
	srv_acme_free(a.acme); /* after the drain, see app_stop */
	a.acme = NULL;
	uv_run(&a.loop, UV_RUN_DEFAULT);
	srv_api_free(a.api);
	if (rc == 0)
		ad_info("main", "stopped");
out_loop:
	/* let close callbacks run, then release the loop */
	uv_run(&a.loop, UV_RUN_DEFAULT);
	uv_loop_close(&a.loop);
	zone_free(a.zone);
out_cfg:
	free(a.acme_cert);
	free(a.acme_key);
	if (a.acme_cfg && a.acme_cfg != a.cfg)
		srv_config_free(a.acme_cfg);
	srv_config_free(a.cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *cfg = getenv("ACMEDNS_CONFIG");
	const char *cmd = NULL;
	int ch;

	if (!cfg || !*cfg)
		cfg = "/etc/acmedns/acmedns.conf";
	if (argc >= 2 && argv[1][0] != '-') {
		cmd = argv[1];
		argv++;
		argc--;
	}
	if (cmd && (strcmp(cmd, "domains") == 0 ||
		    strcmp(cmd, "account") == 0)) {
		/* its own options (after the operation); -c may come first */
		int i = 1;
		if (argc >= 3 && (strcmp(argv[1], "-c") == 0 ||
				  strcmp(argv[1], "--config") == 0)) {
			cfg = argv[2];
			i = 3;
		}
		if (strcmp(cmd, "account") == 0)
			return srv_cli_account(cfg, argc - i, argv + i);
		return srv_cli_domains(cfg, argc - i, argv + i);
	}
	while ((ch = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfg = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("acmedns %s\n", ACMEDNS_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!cmd) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (cmd && strcmp(cmd, "import-acme-dns") == 0) {
		if (optind + 1 != argc) {
			fprintf(stderr, "usage: acmedns import-acme-dns -c FILE "
					"PATH\n");
			return EXIT_USAGE;
		}
		return cmd_import(cfg, argv[optind]);
	}
	if (optind < argc) {
		fprintf(stderr, "acmedns: unexpected argument '%s'\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(cfg);
	if (strcmp(cmd, "check-config") == 0)
		return cmd_check_config(cfg);
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "acmedns: unknown command '%s' (see acmedns --help)\n",
		cmd);
	return EXIT_USAGE;
}
