#!/usr/bin/env bash
# Build the grading image for SageMaker Processing from the lock file, with no network inside
# the build and no registry needed.
#
#   infra/build-image.sh [TAG]          (default: $AUTOGRADER_IMAGE or autograder-grader:latest)
#
# Steps:
#   1. base image: BASE_IMAGE (default python:3.11-slim-bookworm) when it is present or can be
#      pulled; otherwise a Debian bookworm base made with debootstrap (minbase + python3,
#      python3-venv, ca-certificates) and `docker import`ed as $DEBOOTSTRAP_TAG, which is kept
#      and reused by later builds. BASE_IMAGE=debootstrap forces that route.
#   2. wheelhouse on the host: `uv export --frozen --no-dev` of ../uv.lock (hashes included),
#      every wheel downloaded for the base's Python and platform, plus a wheel of the project
#      built from a clean copy of the sources. Reused while the lock and the Python are the same.
#   3. `docker build --network none` of infra/Dockerfile: the image installs that wheelhouse with
#      pip --no-index --require-hashes, so its versions are the lock's.
#
# Environment: AUTOGRADER_IMAGE (tag), BASE_IMAGE, DEBOOTSTRAP_TAG, DEBIAN_MIRROR, DEBIAN_SUITE,
# IMAGE_EXTRAS (comma-separated extras of the project to install too, e.g. "cloud"; default none:
# the grading container never uses the SageMaker SDK), IMAGE_BUILD_DIR (wheelhouse and build
# context; default build/image in the repository, which git ignores).
#
# Prints progress on stderr; exits 0 with the image tag on stdout, or non-zero with one line
# `build-image: error: REASON`.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG="${1:-${AUTOGRADER_IMAGE:-autograder-grader:latest}}"
DEFAULT_BASE="python:3.11-slim-bookworm"
BASE_IMAGE="${BASE_IMAGE:-$DEFAULT_BASE}"
DEBOOTSTRAP_TAG="${DEBOOTSTRAP_TAG:-autograder-base:bookworm-debootstrap}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
IMAGE_EXTRAS="${IMAGE_EXTRAS:-}"
BUILD_DIR="${IMAGE_BUILD_DIR:-$REPO/build/image}"
UV="$REPO/.tools/bin/uv"
PIP="$REPO/.tools/bin/pip"
START=$SECONDS

say() { printf 'build-image: [%3ds] %s\n' "$((SECONDS - START))" "$*" >&2; }
die() { printf 'build-image: error: %s\n' "$1" >&2; exit "${2:-1}"; }

case "${1:-}" in
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (usage: infra/build-image.sh [TAG])" 2 ;;
esac

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker engine is not reachable (docker info failed; is dockerd running?)"
[ -x "$UV" ] && [ -x "$PIP" ] || die "$REPO/.tools has no uv/pip: run 'make setup' first"
[ -f "$REPO/uv.lock" ] || die "no uv.lock in $REPO"
[ -f "$REPO/autograder/processing.py" ] \
    || say "warning: autograder/processing.py (the image's entrypoint) is not in the sources: the image will not run jobs"

# ---------------------------------------------------------------- 1. base image
debootstrap_base() {
    if docker image inspect "$DEBOOTSTRAP_TAG" >/dev/null 2>&1; then
        say "base: reusing $DEBOOTSTRAP_TAG (built earlier with debootstrap)"
        BASE="$DEBOOTSTRAP_TAG"
        return
    fi
    command -v debootstrap >/dev/null || die "no base image can be pulled and debootstrap is not installed (apt-get install debootstrap)"
    [ "$(id -u)" -eq 0 ] || die "no base image can be pulled and debootstrap needs root"
    local arch root
    case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) die "unsupported machine $(uname -m)" ;; esac
    root="$(mktemp -d /var/tmp/autograder-rootfs.XXXXXX)" || die "cannot make a temporary folder"
    # shellcheck disable=SC2064
    trap "rm -rf '$root'" EXIT
    say "base: debootstrap $DEBIAN_SUITE ($arch, minbase + python3 python3-venv ca-certificates) from $DEBIAN_MIRROR"
    if ! debootstrap --variant=minbase --arch="$arch" --include=python3,python3-venv,ca-certificates \
            "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR" >"$BUILD_DIR/debootstrap.log" 2>&1; then
        die "debootstrap failed (last line: $(tail -n 1 "$BUILD_DIR/debootstrap.log"); log: $BUILD_DIR/debootstrap.log)"
    fi
    # Smaller: no package lists, caches, docs or man pages in the base.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
           "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log \
           "$root"/usr/share/locale/* \
           "$root"/debootstrap
    say "base: importing it as $DEBOOTSTRAP_TAG"
    tar -C "$root" --numeric-owner -c . | docker import \
        -c 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'CMD ["/bin/bash"]' \
        -m "Debian $DEBIAN_SUITE minbase + python3 python3-venv ca-certificates (debootstrap)" \
        - "$DEBOOTSTRAP_TAG" >/dev/null || die "docker import of the debootstrap root failed"
    rm -rf "$root"
    trap - EXIT
    BASE="$DEBOOTSTRAP_TAG"
}

mkdir -p "$BUILD_DIR" || die "cannot create $BUILD_DIR"
# One build at a time per build folder (tests and a developer may start one together).
exec 9>"$BUILD_DIR/.lock"
if ! flock -n 9; then
    say "waiting for another build in $BUILD_DIR to finish"
    flock 9 || die "cannot lock $BUILD_DIR/.lock"
fi
if [ "$BASE_IMAGE" = debootstrap ]; then
    debootstrap_base
elif docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    say "base: $BASE_IMAGE (present locally)"
    BASE="$BASE_IMAGE"
else
    say "base: pulling $BASE_IMAGE"
    if timeout 300 docker pull -q "$BASE_IMAGE" >"$BUILD_DIR/pull.log" 2>&1; then
        BASE="$BASE_IMAGE"
    elif [ "$BASE_IMAGE" = "$DEFAULT_BASE" ]; then
        say "base: cannot pull $BASE_IMAGE ($(tail -n 1 "$BUILD_DIR/pull.log" | cut -c1-120)); building one from Debian packages"
        debootstrap_base
    else
        die "cannot pull BASE_IMAGE=$BASE_IMAGE: $(tail -n 1 "$BUILD_DIR/pull.log")"
    fi
fi

# The base's Python decides which wheels fit: its marker environment (PEP 508), taken from its own interpreter: the lock has lines for other
# Pythons and platforms, and which ones apply depends on the exact version (3.11.2 is not 3.11.9).
MARKER_ENV="$(docker run --rm --network none --entrypoint python3 "$BASE" -c '
import json, os, platform, sys
print(json.dumps({"implementation_name": sys.implementation.name, "implementation_version": platform.python_version(),
    "os_name": os.name, "platform_machine": platform.machine(), "platform_release": platform.release(),
    "platform_system": platform.system(), "platform_version": platform.version(),
    "python_full_version": platform.python_version(), "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]), "sys_platform": sys.platform}))' 2>/dev/null)" \
    || die "the base image $BASE has no working python3"
PYVER="$(printf '%s' "$MARKER_ENV" | "$REPO/.tools/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["python_version"])')"
PYFULL="$(printf '%s' "$MARKER_ENV" | "$REPO/.tools/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["python_full_version"])')"
case "$PYVER" in 3.11|3.12) ;; *) die "the base image $BASE has Python $PYVER; the lock needs 3.11 or 3.12" ;; esac
docker run --rm --network none --entrypoint python3 "$BASE" -c 'import ensurepip, venv' >/dev/null 2>&1 \
    || die "the base image $BASE has no venv/ensurepip (Debian: python3-venv)"
case "$(docker info --format '{{.Architecture}}' 2>/dev/null)" in
    x86_64|amd64) PLATFORM_ARCH=x86_64 ;;
    aarch64|arm64) PLATFORM_ARCH=aarch64 ;;
    *) die "unsupported Docker architecture $(docker info --format '{{.Architecture}}')" ;;
esac
say "base: $BASE, Python $PYFULL, $PLATFORM_ARCH"

# ---------------------------------------------------------------- 2. wheelhouse
CONTEXT="$BUILD_DIR/context"
WHEELS="$CONTEXT/wheels"
mkdir -p "$WHEELS"
export_args=(--frozen --no-dev --no-emit-project --format requirements-txt)
IFS=',' read -r -a extras <<<"$IMAGE_EXTRAS"
for extra in "${extras[@]}"; do [ -n "$extra" ] && export_args+=(--extra "$extra"); done
UV_NO_PROGRESS=1 "$UV" export --project "$REPO" "${export_args[@]}" -o "$CONTEXT/requirements.new" >/dev/null 2>"$BUILD_DIR/export.log" \
    || die "uv export of the lock failed: $(tail -n 1 "$BUILD_DIR/export.log")"
# The lines that apply to the base (markers evaluated against its environment, markers dropped):
# what the host downloads. The image installs requirements.txt itself, markers and all.
MARKER_ENV="$MARKER_ENV" "$REPO/.tools/bin/python" - "$CONTEXT/requirements.new" "$CONTEXT/download.txt" <<'PY' \
    || die "evaluating the lock's markers for the base's Python failed"
import json, os, sys
from pip._vendor.packaging.markers import Marker

env = json.loads(os.environ["MARKER_ENV"])
blocks, kept = [], []
for line in open(sys.argv[1]).read().splitlines():
    if not line.strip() or line.lstrip().startswith("#"):
        continue
    if line[0].isspace():
        blocks[-1].append(line)
    else:
        blocks.append([line])
for block in blocks:
    head, sep, rest = block[0].partition(" ; ")
    if sep:
        marker, _, tail = rest.rpartition(" \\")
        if not Marker(marker.strip()).evaluate(env):
            continue
        block = [head + " \\"] + block[1:]
    kept.append("\n".join(block))
open(sys.argv[2], "w").write("\n".join(kept) + "\n")
PY
KEY="$( (cat "$CONTEXT/download.txt"; echo "$PYFULL $PLATFORM_ARCH") | sha256sum | cut -c1-16)"
if [ -f "$WHEELS/.complete" ] && [ "$(cat "$WHEELS/.complete")" = "$KEY" ]; then
    say "wheelhouse: reusing $(find "$WHEELS" -name '*.whl' | wc -l) wheels (lock unchanged)"
    mv "$CONTEXT/requirements.new" "$CONTEXT/requirements.txt"
else
    rm -rf "$WHEELS"; mkdir -p "$WHEELS"
    mv "$CONTEXT/requirements.new" "$CONTEXT/requirements.txt"
    n="$(grep -cE '^[A-Za-z0-9]' "$CONTEXT/download.txt")"
    say "wheelhouse: downloading $n locked packages for CPython $PYFULL manylinux $PLATFORM_ARCH"
    platforms=()
    for glibc in 36 35 34 33 32 31 30 29 28 27 26 25 24 23 22 21 20 19 18 17; do
        platforms+=(--platform "manylinux_2_${glibc}_$PLATFORM_ARCH")
    done
    platforms+=(--platform "manylinux2014_$PLATFORM_ARCH" --platform "manylinux2010_$PLATFORM_ARCH"
                --platform "manylinux1_$PLATFORM_ARCH" --platform any)
    # The host's pip config may name local find-links/indexes; PyPI alone is what the lock names.
    if ! PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= "$PIP" download --quiet --disable-pip-version-check \
            --only-binary=:all: --no-deps --require-hashes -r "$CONTEXT/download.txt" -d "$WHEELS" \
            --python-version "$PYFULL" --implementation cp --abi "cp${PYVER/./}" --abi abi3 --abi none \
            "${platforms[@]}" >"$BUILD_DIR/download.log" 2>&1; then
        die "downloading the wheelhouse failed: $(grep -E 'ERROR' "$BUILD_DIR/download.log" | head -n 1 | cut -c1-200) (log: $BUILD_DIR/download.log)"
    fi
    echo "$KEY" >"$WHEELS/.complete"
fi

# The project itself, from a clean copy of its sources (never a stale build/ folder).
PROJECT="$CONTEXT/project"
rm -rf "$PROJECT" "$WHEELS"/autograder-*.whl; mkdir -p "$PROJECT"
src="$(mktemp -d)"
cp "$REPO/pyproject.toml" "$REPO/README.md" "$src/"
tar -C "$REPO" --exclude=__pycache__ --exclude='*.pyc' -c autograder | tar -C "$src" -x
say "wheelhouse: building the autograder wheel"
UV_NO_PROGRESS=1 UV_PYTHON_DOWNLOADS=never "$UV" build --quiet --wheel --python "$REPO/.tools/bin/python" \
    --out-dir "$PROJECT" "$src" >"$BUILD_DIR/wheel.log" 2>&1 \
    || { rm -rf "$src"; die "building the project wheel failed: $(tail -n 1 "$BUILD_DIR/wheel.log")"; }
rm -rf "$src"
cp "$REPO/infra/Dockerfile" "$CONTEXT/Dockerfile"
printf '*\n!wheels\n!project\n!requirements.txt\n' >"$CONTEXT/.dockerignore"

# ---------------------------------------------------------------- 3. docker build
say "image: docker build $TAG (no network inside the build)"
previous="$(docker image inspect --format '{{.Id}}' "$TAG" 2>/dev/null || true)"
if ! docker build --network none --build-arg "BASE_IMAGE=$BASE" -t "$TAG" "$CONTEXT" >"$BUILD_DIR/docker-build.log" 2>&1; then
    die "docker build failed: $(grep -E 'error|Error|ERROR' "$BUILD_DIR/docker-build.log" | tail -n 1 | cut -c1-200) (log: $BUILD_DIR/docker-build.log)"
fi
size="$(docker image inspect --format '{{.Size}}' "$TAG")"
# The image this tag named before is dropped (it would only pile up); kept if a container uses it.
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$TAG")" ]; then
    docker rmi "$previous" >/dev/null 2>&1 || true
fi
say "image: $TAG built, $((size / 1000000)) MB, in $((SECONDS - START)) s"
echo "$TAG"
