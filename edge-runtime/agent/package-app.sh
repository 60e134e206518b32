#!/usr/bin/env bash
# package-app.sh: builds a self-contained `unmask` app image for this machine with jpackage (--type app-image):
# a trimmed Java runtime (jlink), the agent jar and its dependencies, and only this platform's native libraries
# (ONNX Runtime's and the tokenizers' jars carry every platform's; the others are stripped from slimmed copies).
#
#   edge-runtime/agent/package-app.sh [--no-build] [--train-package DIR]
#   -> edge-runtime/agent/target/app/unmask/bin/unmask   (Linux; unmask.app on macOS, unmask.exe on Windows)
#
# The runtime holds the JDK modules the jars need (jdeps), less those only unused code paths reach (below), and an
# AppCDS archive (lib/app/unmask.jsa) recorded by a training run of the image at build time: `unmask generate` on
# DIR (default models/tiny-llada/package when it exists), else `unmask --help`. The launcher maps it with
# -XX:SharedArchiveFile; a JVM that cannot use it (image moved, other JDK) starts without it, silently.
#
# Needs a JDK 17+ with jpackage and jdeps on PATH (or in $JAVA_HOME/bin).
set -euo pipefail
agent="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$agent/../.." && pwd)"
bin() { if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/$1" ]]; then echo "$JAVA_HOME/bin/$1"; else command -v "$1"; fi; }
JPACKAGE="$(bin jpackage)" || { echo "package-app: jpackage not found: install a full JDK 17+ (not a JRE)" >&2; exit 1; }
JDEPS="$(bin jdeps)"
JAR="$(bin jar)"

build=1 train_package="$root/models/tiny-llada/package"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) build=0; shift ;;
    --train-package) train_package="$2"; shift 2 ;;
    *) echo "package-app: unknown option $1 (usage: package-app.sh [--no-build] [--train-package DIR])" >&2; exit 2 ;;
  esac
done
if [[ $build == 1 ]]; then
  (cd "$root" && ./mvnw -q -pl edge-runtime/agent -am package -DskipTests)
fi
main_jar="$(ls "$agent"/target/unmask-agent-*.jar | grep -v -- '-sources\|-tests' | head -n1)"
version="$(basename "$main_jar" .jar | sed 's/^unmask-agent-//; s/-SNAPSHOT$//')"

# this platform, as ONNX Runtime (ai/onnxruntime/native/<os>-<arch>) and DJL (native/lib/<os>-<arch>) name it
case "$(uname -s)" in
  Linux*) os=linux; djl_os=linux ;;
  Darwin*) os=osx; djl_os=osx ;;
  MINGW*|MSYS*|CYGWIN*) os=win; djl_os=win ;;
  *) echo "package-app: unsupported OS $(uname -s)" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64|amd64) arch=x64; djl_arch=x86_64 ;;
  aarch64|arm64) arch=aarch64; djl_arch=aarch64 ;;
  *) echo "package-app: unsupported CPU $(uname -m)" >&2; exit 1 ;;
esac
keep_ort="ai/onnxruntime/native/$os-$arch/"
keep_djl="native/lib/$djl_os-$djl_arch/"

input="$agent/target/app-input"
rm -rf "$input" "$agent/target/app"
mkdir -p "$input/lib"
cp "$main_jar" "$input/"
cp "$agent"/target/lib/*.jar "$input/lib/"

# slim: delete every native folder but this platform's (and debug symbols)
slim() { # jar, prefix of the native folders, the one to keep
  local jar="$1" prefix="$2" keep="$3" drop
  # only files inside a platform folder (<prefix><os-arch>/...): files beside them, like DJL's properties, stay
  drop="$(unzip -Z1 "$jar" | grep "^$prefix[^/]*/." | grep -v "^$keep" | grep -v '/$' || true)"
  drop+=$'\n'"$(unzip -Z1 "$jar" | grep '\.dSYM/' | grep -v '/$' || true)"
  drop="$(echo "$drop" | sed '/^$/d' | sort -u)"
  [[ -z "$drop" ]] && return
  if command -v zip >/dev/null; then
    echo "$drop" | zip -q -d "$jar" -@
  else
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && unzip -q "$jar" && echo "$drop" | while read -r f; do rm -f "$f"; done && rm -f "$jar" \
      && "$JAR" --create --file "$jar" --manifest META-INF/MANIFEST.MF -C "$tmp" .)
    rm -rf "$tmp"
  fi
  zip -q -d "$jar" "$prefix*/" >/dev/null 2>&1 || true # now-empty folders of other platforms
}
slim "$input/lib/$(cd "$input/lib" && ls onnxruntime-*.jar)" "ai/onnxruntime/native/" "$keep_ort"
slim "$input/lib/$(cd "$input/lib" && ls tokenizers-*.jar)" "native/lib/" "$keep_djl"
[[ "$(unzip -Z1 "$input"/lib/onnxruntime-*.jar | grep -c "^$keep_ort")" -gt 0 ]] \
  || { echo "package-app: ONNX Runtime has no native library for $os-$arch" >&2; exit 1; }

# the runtime: the modules the jars use, plus what is found through services: https (jdk.crypto.ec),
# the sampler's L64X128MixRandom (jdk.random); `unmask serve` runs on Vert.x (a jar), not on jdk.httpserver
modules="$("$JDEPS" --multi-release 17 --ignore-missing-deps --print-module-deps \
  --class-path "$input/lib/*" "$main_jar" 2>/dev/null || echo java.base,java.desktop,java.logging,java.management,java.naming,java.net.http,java.sql)"
# ... less the modules only code the agent never runs refers to (jdeps -s per jar, 2026-12-01, issue 17 §2):
#   java.compiler  DJL's api (ai.djl.util: compiling Java at run time) and Vert.x core (its codegen annotations)
#   jdk.attach, jdk.jdi, java.instrument  only Javassist's HotSwapper and agent tools (Jinjava needs Javassist's
#                  bytecode API, not those)
# java.desktop stays: Jinjava's expression language (BeanELResolver, ForTag), which renders every chat template, is
# built on java.beans; java.management stays for DJL and JLine; java.naming for Netty's and Vert.x's DNS resolvers
drop=",java.compiler,jdk.attach,jdk.jdi,java.instrument,"
modules="$(echo "$modules" | tr ',' '\n' | while read -r m; do [[ "$drop" == *",$m,"* ]] || echo "$m"; done | paste -sd, -)"
modules="$modules,java.net.http,jdk.crypto.ec,jdk.random,jdk.unsupported,jdk.zipfs"

# --generate-cds-archive: the runtime's own CDS archive of JDK classes (lib/server/classes.jsa), which the app's
# dynamic archive below builds on
"$JPACKAGE" --type app-image --name unmask --app-version "$version" \
  --input "$input" --main-jar "$(basename "$main_jar")" --main-class dev.unmask.agent.Unmask \
  --dest "$agent/target/app" --add-modules "$modules" \
  --jlink-options "--strip-debug --no-man-pages --no-header-files --compress=2 --generate-cds-archive" \
  --java-options "-Xmx1g" \
  --description "Run masked-diffusion language models on this machine"

image="$agent/target/app/unmask"
[[ -d "$agent/target/app/unmask.app" ]] && image="$agent/target/app/unmask.app"
# jlink writes a second base archive for heaps without compressed pointers (above 32 GB); -Xmx1g never uses it
find "$image" -name classes_nocoops.jsa -delete

# AppCDS (Linux image layout; macOS and Windows images start without it): a training run records the classes it
# loads into a dynamic archive beside the jars, which every later start maps instead of parsing and verifying them
if [[ -x "$image/bin/unmask" && -f "$image/lib/app/unmask.cfg" ]]; then
  jsa="$image/lib/app/unmask.jsa"
  train=(--help)
  if [[ -f "$train_package/manifest.json" ]]; then
    train=(generate -m "$train_package" --gen-length 8 --block-length 8 --steps 8 "def add(a, b):")
  fi
  if JAVA_TOOL_OPTIONS="-XX:ArchiveClassesAtExit=$jsa" "$image/bin/unmask" "${train[@]}" > /dev/null 2>&1 \
      && [[ -f "$jsa" ]]; then
    # $APPDIR is the launcher's token for lib/app; -Xlog:cds off: a JVM that cannot map the archive (the image moved,
    # the jars changed) says so only in the log and starts without it
    sed -i '/^\[JavaOptions\]/a java-options=-XX:SharedArchiveFile=$APPDIR/unmask.jsa\njava-options=-Xlog:cds=off\njava-options=-Xlog:cds+dynamic=off' \
      "$image/lib/app/unmask.cfg"
    echo "package-app: AppCDS archive $(du -h "$jsa" | cut -f1) from a training run: unmask ${train[0]}"
  else
    rm -f "$jsa"
    echo "package-app: no AppCDS archive (the training run failed); the image starts without one" >&2
  fi
fi
echo "package-app: $image ($(du -sh "$image" | cut -f1); modules $modules; natives $os-$arch)"
