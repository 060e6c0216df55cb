# Sourced by the fetch_*.sh scripts: a private apt configuration for `apt-get source` from
# Debian's deb-src lists of this release, leaving the system's apt sources untouched.
# Usage: . apt_source_env.sh; apt_source_setup WORK_DIR   -> sets $opts and runs `apt-get update`
apt_source_setup() {
  _work=$1
  . /etc/os-release
  _codename=${VERSION_CODENAME:-bookworm}
  cat > "$_work/sources.list" <<LIST
deb-src http://deb.debian.org/debian $_codename main
deb-src http://deb.debian.org/debian-security $_codename-security main
deb-src http://deb.debian.org/debian $_codename-updates main
LIST
  mkdir -p "$_work/lists/partial" "$_work/cache/archives/partial"
  opts="-o Dir::Etc::SourceList=$_work/sources.list -o Dir::Etc::SourceParts=/dev/null \
 -o Dir::State::Lists=$_work/lists -o Dir::Cache=$_work/cache -o APT::Sandbox::User=root"
  apt-get $opts -qq update
}
