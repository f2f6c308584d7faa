/**
 * A PostgreSQL the platform does not run (a managed service) is reached by a
 * connection URL held in a Pulumi secret. libpq takes a URL only as an
 * argument, and every user of the host can read a process's arguments (ps,
 * /proc/<pid>/cmdline); so the scripts take the URL apart themselves, the way
 * libpq would, into the PG* variables libpq reads from its environment, and
 * no part of the URL is ever an argument or a log line.
 */

/**
 * libpq's connection parameters that a URL may carry in its query string,
 * with the environment variable libpq reads each from (libpq's "Environment
 * Variables" and "Parameter Key Words"). A parameter without a variable
 * cannot be passed without an argument, so a URL with one is refused rather
 * than connected differently from what it says.
 */
export const LIBPQ_VARIABLES: Readonly<Record<string, string>> = {
  host: "PGHOST",
  hostaddr: "PGHOSTADDR",
  port: "PGPORT",
  dbname: "PGDATABASE",
  user: "PGUSER",
  password: "PGPASSWORD",
  passfile: "PGPASSFILE",
  require_auth: "PGREQUIREAUTH",
  channel_binding: "PGCHANNELBINDING",
  service: "PGSERVICE",
  options: "PGOPTIONS",
  application_name: "PGAPPNAME",
  sslmode: "PGSSLMODE",
  requiressl: "PGREQUIRESSL",
  sslcompression: "PGSSLCOMPRESSION",
  sslcert: "PGSSLCERT",
  sslkey: "PGSSLKEY",
  sslcertmode: "PGSSLCERTMODE",
  sslrootcert: "PGSSLROOTCERT",
  sslcrl: "PGSSLCRL",
  sslcrldir: "PGSSLCRLDIR",
  sslsni: "PGSSLSNI",
  requirepeer: "PGREQUIREPEER",
  ssl_min_protocol_version: "PGSSLMINPROTOCOLVERSION",
  ssl_max_protocol_version: "PGSSLMAXPROTOCOLVERSION",
  gssencmode: "PGGSSENCMODE",
  krbsrvname: "PGKRBSRVNAME",
  gsslib: "PGGSSLIB",
  gssdelegation: "PGGSSDELEGATION",
  connect_timeout: "PGCONNECT_TIMEOUT",
  client_encoding: "PGCLIENTENCODING",
  target_session_attrs: "PGTARGETSESSIONATTRS",
  load_balance_hosts: "PGLOADBALANCEHOSTS",
};

/** Every variable use_database_url may set: what a client container is handed, by name only. */
export const LIBPQ_VARIABLE_NAMES: readonly string[] = [...new Set(Object.values(LIBPQ_VARIABLES))];

/**
 * Bash functions that set libpq's variables from a URL:
 * `use_database_url "$DATABASE_URL"` in a subshell, so that they end with it.
 * The grammar is libpq's: `postgres[ql]://[user[:password]@][host][:port][,...][/dbname][?key=value&...]`,
 * user information up to the first `@` before any `/`, IPv6 hosts in
 * brackets, several hosts separated by commas, every part percent-decoded,
 * and `ssl=true` meaning `sslmode=require`. The URL must name its database,
 * so a restore never falls back to a default one. Any refusal says what is
 * wrong without showing the URL. Expects `log` to be defined.
 */
export function databaseURLFunctions(): string {
  const cases = Object.entries(LIBPQ_VARIABLES)
    .map(([keyword, variable]) => `      ${keyword}) variable=${variable} ;;`)
    .join("\n");
  return `# Percent-decoding as libpq does it; a broken escape or %00 is refused.
url_decode() {
  local encoded=$2 malformed='%($|.$|[^0-9A-Fa-f]|.[^0-9A-Fa-f]|00)'
  [[ ! $encoded =~ $malformed ]] || { log "the database URL has a malformed percent-escape"; return 1; }
  encoded=\${encoded//\\\\/\\\\\\\\}
  printf -v "$1" '%b' "\${encoded//%/\\\\x}"
}

libpq_export() {
  printf -v "$1" '%s' "$2"
  export "\${1:?}"
}

# libpq reads a URL only from its arguments, which every user can see in ps;
# so the URL is taken apart here into the PG* variables libpq reads instead.
# Run it in a subshell: the variables end with it.
use_database_url() {
  local url=$1 rest userinfo hosts entry address port addresses="" ports="" query pair key value variable
  unset "\${!PG@}"
  case $url in
    postgresql://*) rest=\${url#postgresql://} ;;
    postgres://*) rest=\${url#postgres://} ;;
    *) log "the database URL does not start with postgresql://"; return 1 ;;
  esac
  userinfo=\${rest%%[@/]*}
  if [[ \${rest:\${#userinfo}:1} == @ ]]; then
    rest=\${rest:\${#userinfo}+1}
    url_decode value "\${userinfo%%:*}" || return
    [[ -z $value ]] || libpq_export PGUSER "$value"
    if [[ $userinfo == *:* ]]; then
      url_decode value "\${userinfo#*:}" || return
      [[ -z $value ]] || libpq_export PGPASSWORD "$value"
    fi
  fi
  hosts=\${rest%%[/?]*}
  rest=\${rest:\${#hosts}}
  while [[ -n $hosts ]]; do
    entry=\${hosts%%,*}
    if [[ $hosts == *,* ]]; then hosts=\${hosts#*,}; else hosts=""; fi
    if [[ $entry == "["* ]]; then
      [[ $entry == *"]"* ]] || { log "the database URL has an IPv6 host without its closing bracket"; return 1; }
      address=\${entry#"["} port=\${entry#*"]"}
      address=\${address%%"]"*}
      [[ -z $port || $port == :* ]] || { log "the database URL has text after an IPv6 host"; return 1; }
      port=\${port#:}
    else
      address=\${entry%%:*} port=""
      [[ $entry != *:* ]] || port=\${entry#*:}
    fi
    [[ $port =~ ^[0-9]*$ ]] || { log "the database URL has a port that is not a number"; return 1; }
    url_decode address "$address" || return
    addresses+="$address," ports+="$port,"
  done
  [[ -z \${addresses//,/} ]] || libpq_export PGHOST "\${addresses%,}"
  [[ -z \${ports//,/} ]] || libpq_export PGPORT "\${ports%,}"
  if [[ $rest == /* ]]; then
    value=\${rest#/}
    value=\${value%%"?"*}
    rest=\${rest:\${#value}+1}
    url_decode value "$value" || return
    [[ -z $value ]] || libpq_export PGDATABASE "$value"
  fi
  query=""
  [[ $rest != "?"* ]] || query=\${rest#"?"} rest=""
  [[ -z $rest ]] || { log "the database URL has text after its hosts that is neither /database nor ?parameters"; return 1; }
  while [[ -n $query ]]; do
    pair=\${query%%&*}
    if [[ $query == *"&"* ]]; then query=\${query#*&}; else query=""; fi
    [[ $pair == *=* ]] || { log "the database URL has a parameter without a value"; return 1; }
    url_decode key "\${pair%%=*}" || return
    url_decode value "\${pair#*=}" || return
    case $key in
${cases}
      ssl)
        # libpq's JDBC compatibility: ssl=true is sslmode=require.
        [[ $value == true ]] || { log "the database URL has ssl=<not true>; use sslmode"; return 1; }
        variable=PGSSLMODE value=require ;;
      *)
        if [[ $key =~ ^[a-z_]+$ ]]; then log "the database URL has parameter $key, which libpq cannot take from its environment"; else log "the database URL has a parameter libpq does not know"; fi
        return 1 ;;
    esac
    libpq_export "$variable" "$value"
  done
  [[ -n \${PGDATABASE:-} ]] || { log "the database URL names no database (postgresql://.../<database>)"; return 1; }
}`;
}
