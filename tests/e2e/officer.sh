# Sourced by the mistake_* cases: copies officer/ (a good policy) into a
# temporary folder and works there. `edit FILE SED` makes the mistake;
# `check [ARGS]` runs fundwatch check in English, then in Chinese.
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
cp -r ../officer/policies "$tmp/policies" && cd "$tmp" || exit 2
edit() { sed -i "$2" "policies/$1"; }
check() {
    echo "--- en"
    "$FW" check --lang en --policies policies "$@" 2>&1; echo "exit status $?"
    echo "--- zh"
    "$FW" check --lang zh --policies policies "$@" 2>&1; echo "exit status $?"
}
