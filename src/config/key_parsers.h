/* Value parsers for the keys of schema.c that need more than a type check. */
#ifndef RPXY_CONFIG_KEY_PARSERS_H
#define RPXY_CONFIG_KEY_PARSERS_H

#include "config/loader.h"

#define CFG_PARSER(name)                                                                           \
    int name(struct cfg_loader *ld, const struct toml_keyval *kv, void *field, void *obj)

CFG_PARSER(cfg_parse_listen_v4);
CFG_PARSER(cfg_parse_listen_v6);
CFG_PARSER(cfg_parse_trusted_forwarded);
CFG_PARSER(cfg_parse_proxy_protocol_trusted);
CFG_PARSER(cfg_parse_body_size);
CFG_PARSER(cfg_parse_sticky_secret);
CFG_PARSER(cfg_parse_server_name);
CFG_PARSER(cfg_parse_location);
CFG_PARSER(cfg_parse_upstream_options);
CFG_PARSER(cfg_parse_load_balance);
CFG_PARSER(cfg_parse_health_check);
CFG_PARSER(cfg_parse_health_type);
CFG_PARSER(cfg_parse_acme_challenge);
CFG_PARSER(cfg_parse_admin_listen);
CFG_PARSER(cfg_parse_access_log_format);

/* Sections the parsers above read into. */
extern const struct cfg_section cfg_health_check_section;

/* finish() hooks of schema.c, in section_finish.c. */
int cfg_finish_root(struct cfg_loader *ld, void *obj, const struct toml_table *t);
int cfg_finish_app(struct cfg_loader *ld, void *obj, const struct toml_table *t);
int cfg_finish_route(struct cfg_loader *ld, void *obj, const struct toml_table *t);
int cfg_finish_upstream(struct cfg_loader *ld, void *obj, const struct toml_table *t);
int cfg_finish_health_check(struct cfg_loader *ld, void *obj, const struct toml_table *t);
int cfg_finish_tls(struct cfg_loader *ld, void *obj, const struct toml_table *t);
int cfg_finish_h3(struct cfg_loader *ld, void *obj, const struct toml_table *t);
int cfg_finish_cache(struct cfg_loader *ld, void *obj, const struct toml_table *t);

#endif
