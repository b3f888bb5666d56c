main() {
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
LANG=C
export PATH LC_ALL LANG
SUDOERS=/etc/sudoers
if ! command -v base64 >/dev/null 2>&1; then
  printf '@@AUDIT-FATAL base64 is not installed on this host@@\n'
  return 3
fi
exec 3>&1
_count=0
printf '@@AUDIT-BEGIN v=1@@\n'

sec() {
  _n=$1
  shift
  _count=$((_count + 1))
  printf '@@AUDIT-SECTION name=%s@@\n' "$_n"
  _e=$( { _o=$("$@" 3>&-; printf '\n%s' "$?")
          printf '%s' "${_o%
*}" | base64 >&3
          printf '@@AUDIT-RC %s@@\n' "${_o##*
}" >&3; } 2>&1 )
  printf '@@AUDIT-STDERR@@\n'
  printf '%.4000s' "$_e" | base64
  printf '@@AUDIT-END name=%s@@\n' "$_n"
}

tool() {
  if command -v "$2" >/dev/null 2>&1; then
    _t=$1
    shift 2
    sec "$_t" "$@"
  else
    _count=$((_count + 1))
    printf '@@AUDIT-ABSENT name=%s tool=%s@@\n' "$1" "$2"
  fi
}

os_release() {
  if [ -r /etc/os-release ]; then cat /etc/os-release; else cat /usr/lib/os-release; fi
}

apt_index() {
  stat -c '%Y %n' /var/lib/apt/lists/*Release /var/lib/apt/periodic/update-success-stamp 2>/dev/null
  return 0
}

dnf_index() {
  stat -c '%Y %n' /var/cache/dnf/*/repodata/repomd.xml /var/cache/libdnf5/*/repodata/repomd.xml \
    /var/cache/yum/*/*/*/repomd.xml 2>/dev/null
  return 0
}

firewalld_info() {
  _s=$(firewall-cmd --state 2>&1)
  _r=$?
  printf 'state: %s\n' "$_s"
  [ "$_r" -eq 0 ] || return 0
  firewall-cmd --list-all-zones
}

admin_groups() {
  getent group sudo wheel admin
  _r=$?
  [ "$_r" -eq 2 ] && return 0
  return "$_r"
}

sudoers_specs() {
  if [ ! -e "$SUDOERS" ]; then
    printf 'NO-SUDOERS\n'
    return 0
  fi
  if [ ! -r "$SUDOERS" ]; then
    printf '%s: permission denied (readable by root only)\n' "$SUDOERS" >&2
    return 13
  fi
  awk -v MAIN="$SUDOERS" -v SQ="'" '
function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
function istag(w) { return w ~ /^(NO)?(PASSWD|EXEC|SETENV|LOG_INPUT|LOG_OUTPUT|MAIL|FOLLOW|INTERCEPT)$/ }
function lastword(s) { sub(/[ \t]+$/, "", s); match(s, /[^ \t,():=]*$/); return substr(s, RSTART) }
function q(s) { gsub(SQ, SQ "\\" SQ SQ, s); return SQ s SQ }
function fail(msg) { printf "%s\n", msg > "/dev/stderr"; failed = 13 }
function safe(w) { return (w ~ "^[]A-Za-z0-9_%#+!*.,:@/[][]A-Za-z0-9_%#+!*.,:@/[-]*$") ? substr(w, 1, 60) : "?" }
function splitat(s, a, seps,    n, i, c, depth, cur, w) {
  n = 0; depth = 0; cur = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\") { cur = cur c substr(s, i + 1, 1); i++; continue }
    if (c == "(") depth++
    else if (c == ")") { if (--depth < 0) return -1 }
    else if (depth == 0 && index(seps, c)) {
      if (c == ":") { w = lastword(cur); if (istag(w) || w ~ /^sha(224|256|384|512)$/) { cur = cur c; continue } }
      a[++n] = cur; cur = ""; continue
    }
    cur = cur c
  }
  if (depth != 0) return -1
  a[++n] = cur
  return n
}
function words(s, w,    n, i, c, cur) {
  n = 0; cur = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\") { cur = cur c substr(s, i + 1, 1); i++; continue }
    if (c == " ") { if (cur != "") { w[++n] = cur; cur = "" }; continue }
    cur = cur c
  }
  if (cur != "") w[++n] = cur
  return n
}
function settag(t,    base) {
  base = t; if (substr(t, 1, 2) == "NO") base = substr(t, 3)
  TAGS = " " TAGS " "; gsub(" " base " ", " ", TAGS); gsub(" NO" base " ", " ", TAGS)
  TAGS = trim(TAGS " " t); gsub(/  +/, " ", TAGS)
}
function command(s,    w, n, i, neg, j, a) {
  s = trim(s)
  if (substr(s, 1, 1) == "(") {
    j = index(s, ")")
    RUNAS = "(" trim(substr(s, 2, j - 2)) ")"; gsub(/ +/, " ", RUNAS)
    s = trim(substr(s, j + 1))
  }
  for (;;) {
    if (match(s, /^[A-Z_]+ *:/) && istag(trim(substr(s, 1, RLENGTH - 1)))) {
      settag(trim(substr(s, 1, RLENGTH - 1))); s = trim(substr(s, RLENGTH + 1)); continue
    }
    if (match(s, /^[A-Z_]+=/)) {
      n = words(s, w); s = ""
      for (i = 2; i <= n; i++) s = s " " w[i]
      s = trim(s); continue
    }
    break
  }
  neg = ""
  while (substr(s, 1, 1) == "!") { neg = (neg == "") ? "!" : ""; s = trim(substr(s, 2)) }
  if (match(s, /^sha(224|256|384|512):[^ ]*/)) s = trim(substr(s, RLENGTH + 1))
  n = words(s, w)
  if (n && substr(w[1], 1, 1) != "/" && substr(w[1], 1, 1) != "^" && w[1] !~ /^[A-Z][A-Z0-9_]*$/ && w[1] != "sudoedit" && w[1] != "list") w[1] = "?"
  CMD = neg (n ? w[1] : ""); ARGS = "-"
  if (n < 2) return
  if (w[1] == "sudoedit") { ARGS = w[2]; for (i = 3; i <= n; i++) ARGS = ARGS " " w[i]; return }
  if (n == 2 && w[2] == "\"\"") { ARGS = "\"\""; return }
  ARGS = "<args>"
  for (i = 2; i <= n; i++) {
    a = w[i]; gsub(/\\./, "", a)
    if (a ~ /[*?[]/ || substr(w[i], 1, 1) == "^") ARGS = "<wildcard-args>"
  }
}
function definitions(kind, text, lineno,    d, nd, k, p, name, items, ni, m, v) {
  nd = splitat(text, d, ":")
  if (nd < 0) { print "UNREAD\t" lineno "\t" kind; return }
  for (k = 1; k <= nd; k++) {
    p = index(d[k], "=")
    if (p == 0) { print "UNREAD\t" lineno "\t" kind; continue }
    name = trim(substr(d[k], 1, p - 1)); v = trim(substr(d[k], p + 1))
    if (kind == "Cmnd_Alias") {
      ni = splitat(v, items, ",")
      if (ni < 0) { print "UNREAD\t" lineno "\t" kind " " name; continue }
      RUNAS = "-"; TAGS = ""
      for (m = 1; m <= ni; m++) { command(items[m]); print "CMND_ALIAS\t" lineno "\t" name "\t" CMD "\t" ARGS }
    } else {
      gsub(/ *, */, ",", v)
      print (kind == "User_Alias" ? "USER_ALIAS" : "RUNAS_ALIAS") "\t" lineno "\t" name "\t" v
    }
  }
}
function rule(l, lineno,    p, head, users, hosts, s, ns, k, items, ni, m) {
  p = index(l, "=")
  head = trim(substr(l, 1, p - 1)); gsub(/ *, */, ",", head)
  if (!match(head, / [^ ]+$/)) { split(head, s, / +/); print "UNREAD\t" lineno "\t" safe(s[1]); return }
  users = substr(head, 1, RSTART - 1); hosts = safe(trim(substr(head, RSTART)))
  ns = splitat(hosts "=" substr(l, p + 1), s, ":")
  if (ns < 0) { print "RULE\t" lineno "\t" users "\t" hosts "\t-\t\t<unreadable>\t-"; return }
  for (k = 1; k <= ns; k++) {
    p = index(s[k], "=")
    if (p == 0) { print "RULE\t" lineno "\t" users "\t?\t-\t\t<unreadable>\t-"; continue }
    hosts = trim(substr(s[k], 1, p - 1)); gsub(/ *, */, ",", hosts); hosts = safe(hosts)
    ni = splitat(substr(s[k], p + 1), items, ",")
    if (ni < 0) { print "RULE\t" lineno "\t" users "\t" hosts "\t-\t\t<unreadable>\t-"; continue }
    RUNAS = "-"; TAGS = ""
    for (m = 1; m <= ni; m++) {
      command(items[m])
      print "RULE\t" lineno "\t" users "\t" hosts "\t" RUNAS "\t" TAGS "\t" CMD "\t" ARGS
    }
  }
}
function incpath(path, from,    dir) {
  if (path ~ /^"/) { path = substr(path, 2); sub(/"$/, "", path) }
  gsub(/%h/, HOST, path)
  if (substr(path, 1, 1) != "/") { dir = from; sub(/\/[^\/]*$/, "", dir); path = dir "/" path }
  return path
}
function readdir(dir, depth,    cmd, name, n, i, names) {
  if (system("test -d " q(dir)) != 0) { print "MISSING\t" dir; return }
  if (system("test -r " q(dir) " && test -x " q(dir)) != 0) { fail(dir ": permission denied"); return }
  cmd = "ls -1A " q(dir)
  n = 0
  while ((cmd | getline name) > 0) names[++n] = name
  close(cmd)
  for (i = 1; i <= n; i++) {
    if (names[i] ~ /~$/ || index(names[i], ".")) continue
    if (system("test -f " q(dir "/" names[i])) == 0) readfile(dir "/" names[i], depth + 1)
  }
}
function readfile(f, depth,    line, rc, l, buf, start, lineno, kw, arg, parts) {
  if (depth > 32) { fail(f ": includes nested more than 32 deep"); return }
  if (f in SEEN) return
  SEEN[f] = 1
  if (system("test -e " q(f)) != 0) { print "MISSING\t" f; return }
  print "FILE\t" f
  lineno = 0; buf = ""; start = 0
  while ((rc = (getline line < f)) > 0) {
    lineno++
    gsub(/\t/, " ", line)
    if (line ~ /\\$/) { if (!start) start = lineno; buf = buf substr(line, 1, length(line) - 1) " "; continue }
    l = buf line; if (!start) start = lineno; buf = ""
    if (match(l, /^ *[#@]include(dir)? +/)) {
      kw = trim(substr(l, 1, RLENGTH)); arg = incpath(trim(substr(l, RLENGTH + 1)), f)
      if (kw ~ /dir$/) readdir(arg, depth); else readfile(arg, depth + 1)
      start = 0; continue
    }
    sub(/(^| )#([^0-9].*)?$/, "", l)
    l = trim(l)
    if (l == "") { start = 0; continue }
    if (l ~ /^Defaults/) {
      if (l ~ /env_keep/ && l ~ /LD_PRELOAD|LD_LIBRARY_PATH|LD_AUDIT|PYTHONPATH|PYTHONSTARTUP|PERL5LIB|PERL5OPT|PERLLIB|RUBYLIB|RUBYOPT|BASH_ENV|NODE_OPTIONS/)
        print "DEFAULT\t" start "\tenv_keep_loader"
      if (l ~ /[ ,]setenv( |,|$)/) print "DEFAULT\t" start "\tsetenv"
      start = 0; continue
    }
    if (match(l, /^(User_Alias|Runas_Alias|Cmnd_Alias|Cmd_Alias|Host_Alias) +/)) {
      kw = trim(substr(l, 1, RLENGTH)); if (kw == "Cmd_Alias") kw = "Cmnd_Alias"
      if (kw != "Host_Alias") definitions(kw, substr(l, RLENGTH + 1), start)
      start = 0; continue
    }
    if (index(l, "=") == 0) { split(l, parts, / +/); print "UNREAD\t" start "\t" safe(parts[1]); start = 0; continue }
    rule(l, start)
    start = 0
  }
  if (rc < 0) fail(f ": permission denied (readable by root only)")
  close(f)
}
BEGIN {
  failed = 0
  "uname -n" | getline HOST; close("uname -n"); sub(/\..*/, "", HOST)
  readfile(MAIN, 0)
  exit failed
}' </dev/null
}

key_files() {
  _p=$(sshd -T 2>/dev/null | awk 'tolower($1) == "authorizedkeysfile" { $1 = ""; print; exit }')
  if [ -z "$_p" ]; then
    _p=$(awk 'tolower($1) == "match" { exit } tolower($1) == "authorizedkeysfile" { $1 = ""; print; exit }' \
      /etc/ssh/sshd_config 2>/dev/null)
  fi
  [ -n "$_p" ] || _p=".ssh/authorized_keys .ssh/authorized_keys2"
  printf '%s' "$_p"
}

authorized_keys() {
  command -v ssh-keygen >/dev/null 2>&1 || { printf 'ssh-keygen is not installed\n' >&2; return 127; }
  _pats=$(key_files)
  printf 'PATTERNS\t%s\n' "$_pats"
  getent passwd | while IFS=: read -r _u _x _uid _gid _g _h _s; do
    [ -n "$_u" ] || continue
    for _pat in $_pats; do
      [ "$_pat" = none ] && continue
      case $_pat in
        *%*) _f=$(printf '%s' "$_pat" | sed -e "s|%h|$_h|g" -e "s|%u|$_u|g" -e "s|%U|$_uid|g" -e 's|%%|%|g') ;;
        *) _f=$_pat ;;
      esac
      case $_f in /*) ;; *) _f="$_h/$_f" ;; esac
      _dir=${_f%/*}
      if [ -e "$_f" ]; then
        if [ -r "$_f" ]; then
          ssh-keygen -E sha256 -lf "$_f" 2>/dev/null | awk -v u="$_u" -v f="$_f" '
            $2 ~ /^SHA256:/ { t = $NF; gsub(/[()]/, "", t); print "KEY\t" u "\t" f "\t" $2 "\t" t }'
        else
          printf 'UNREADABLE\t%s\t%s\n' "$_u" "$_f"
        fi
      elif [ -d "$_h" ] && [ ! -x "$_h" ]; then
        printf 'UNREADABLE\t%s\t%s\n' "$_u" "$_f"
      elif [ -d "$_dir" ] && [ ! -x "$_dir" ]; then
        printf 'UNREADABLE\t%s\t%s\n' "$_u" "$_f"
      fi
    done
  done
}

sec os-release os_release
sec kernel uname -r
if command -v apt >/dev/null 2>&1; then
  sec apt apt list --upgradable
  sec apt-index apt_index
fi
if command -v dnf >/dev/null 2>&1; then
  sec dnf-updateinfo dnf -q -C updateinfo list --security
  sec dnf-check-update dnf -q -C check-update --security
  sec dnf-index dnf_index
elif command -v yum >/dev/null 2>&1; then
  sec yum-updateinfo yum -q -C updateinfo list security
  sec yum-check-update yum -q -C check-update --security
  sec dnf-index dnf_index
fi
tool lsblk lsblk lsblk -J -o NAME,TYPE,MOUNTPOINT,FSTYPE
tool findmnt findmnt findmnt -J -l -o TARGET,SOURCE,FSTYPE
tool nft nft nft -j list ruleset
tool iptables iptables-save iptables-save
tool ip6tables ip6tables-save ip6tables-save
tool ufw ufw ufw status verbose
tool firewalld firewall-cmd firewalld_info
tool ss-tcp ss ss -tlnp
tool ss-udp ss ss -ulnp
sec passwd sh -c 'getent passwd | cut -d: -f1,3,4'
sec groups sh -c 'getent group | cut -d: -f1,3,4'
sec admin-groups admin_groups
sec sudoers sudoers_specs
sec authorized-keys authorized_keys
tool sshd sshd sshd -T
printf '@@AUDIT-DONE sections=%s@@\n' "$_count"
return 0
}
main </dev/null
