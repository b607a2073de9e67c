# Shared by scripts/build-*.sh: binaries built once from the Go module proxy into a folder of
# ~/.cache/arbees keyed by their versions. Source it; it defines functions only.
ARBEES_CACHE="${ARBEES_CACHE:-$HOME/.cache/arbees}"

# Prints $1 and exits when every binary named after it is there. Otherwise, with --cached-only
# as $2, fails naming the missing ones; else checks for Go and sets MISSING for the caller.
# Usage: use_cache_or_prepare DIR MODE NAME...
use_cache_or_prepare() {
  local dir=$1 mode=$2 b
  shift 2
  MISSING=()
  for b in "$@"; do [[ -x "$dir/$b" ]] || MISSING+=("$b"); done
  if [[ ${#MISSING[@]} -eq 0 ]]; then echo "$dir"; exit 0; fi
  if [[ "$mode" == "--cached-only" ]]; then echo "not built: ${MISSING[*]} (in $dir)" >&2; exit 1; fi
  command -v go >/dev/null || { echo "missing go: install Go >= 1.23 (https://go.dev/dl) to build ${MISSING[*]}" >&2; exit 1; }
  mkdir -p "$dir"
  GO_WORK=$(mktemp -d)
  trap 'rm -rf "$GO_WORK"' EXIT
  export CGO_ENABLED=0 GOFLAGS=-mod=mod
}

# Builds commands of k8s.io/kubernetes at a version into a folder.
# Usage: build_kubernetes OUT VERSION CMD...  (CMD as under k8s.io/kubernetes/cmd/)
build_kubernetes() {
  local out=$1 version=$2 minor staging_minor gomod c
  shift 2
  minor=$(echo "$version" | cut -d. -f2)
  staging_minor="v0.${version#v1.}"
  mkdir -p "$GO_WORK/k8s"
  (
    cd "$GO_WORK/k8s"
    go mod init arbees.local/kubernetes >/dev/null 2>&1
    # kubernetes' go.mod maps every k8s.io/* staging module to ./staging/...; map each to its published v0.x release.
    gomod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    {
      echo "require k8s.io/kubernetes $version"
      echo "replace ("
      grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk -v v="$staging_minor" '{print "\t" $1 " => " $1 " " v}'
      echo ")"
    } >> go.mod
    { echo '//go:build tools'; echo 'package tools'; for c in "$@"; do echo "import _ \"k8s.io/kubernetes/cmd/$c\""; done; } > tools.go
    go mod tidy >&2
    # The reported version must be real, or Helm's kubeVersion checks fail.
    local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
    for c in "$@"; do
      echo "building $c $version..." >&2
      go build -trimpath -ldflags "$ldflags" -o "$out/$c.tmp" "k8s.io/kubernetes/cmd/$c" && mv "$out/$c.tmp" "$out/$c"
    done
  )
}

# Builds a main package of a module at a version inside a throwaway module that requires it
# (unlike `go install pkg@version`, this works when the module's go.mod has replace directives).
# Usage: go_build_module OUT NAME MODULE VERSION PACKAGE [LDFLAGS]
go_build_module() {
  local out=$1 name=$2 module=$3 version=$4 package=$5 ldflags="-s -w ${6:-}"
  echo "building $name $version..." >&2
  mkdir -p "$GO_WORK/$name"
  (
    cd "$GO_WORK/$name"
    go mod init "arbees.local/$name" >/dev/null 2>&1
    printf '//go:build tools\npackage tools\nimport _ "%s"\n' "$package" > tools.go
    go get "$module@$version" >&2
    go mod tidy >&2
    go build -trimpath -ldflags "$ldflags" -o "$out/$name.tmp" "$package" && mv "$out/$name.tmp" "$out/$name"
  )
}
