#!/usr/bin/env bash
# Fetches one standard character corpus, checks its SHA-256 and lays it out for `tbptt charlm train --corpus`.
# See datasets/README.md for sizes, licences and where each checksum was published.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: datasets/download.sh NAME [DIR]

Fetches one character corpus into DIR (default: datasets/data next to this script), verifies its SHA-256
where a published sum is known, and prints the --corpus path to give to `tbptt charlm train`.

NAME
  tinyshakespeare  karpathy/char-rnn input.txt, 1.1 MB         -> DIR/tinyshakespeare/input.txt
  ptb-char         Mikolov's ptb.char.{train,valid,test}.txt    -> DIR/ptb-char/{train,valid,test}.txt
  text8            Mahoney's text8.zip, 100 MB of a-z and space -> DIR/text8/text8 and DIR/text8/split/
  enwik8           Mahoney's enwik8.zip, 100 MB of Wikipedia XML -> DIR/enwik8/enwik8 and DIR/enwik8/split/

text8 and enwik8 also get split/ with the standard first 90M / next 5M / last 5M bytes as
train.txt, valid.txt and test.txt.

Environment
  TBPTT_DATASETS_MIRROR  fetch FILE from "$TBPTT_DATASETS_MIRROR/FILE" instead of the original URL
                         (http(s):// or file:///path/to/folder); checksums are verified all the same.
EOF
}

die() { echo "download.sh: $*" >&2; exit 1; }

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1
    else die "neither sha256sum nor shasum is installed; cannot verify $1"
    fi
}

# verify_sha256 FILE EXPECTED: EXPECTED empty means no published sum is known; the computed one is printed.
# A mismatching file is renamed FILE.bad (so a re-run downloads it again) and the script stops.
verify_sha256() {
    local file=$1 expected=$2 actual
    actual=$(sha256_of "$file")
    if [[ -z $expected ]]; then
        echo "  $file: sha256 $actual (no published sum to check against; compare with datasets/README.md)"
    elif [[ $actual == "$expected" ]]; then
        echo "  $file: sha256 verified ($actual)"
    else
        mv -f "$file" "$file.bad"
        die "$file: SHA-256 mismatch: expected $expected, got $actual (kept as $file.bad; delete it and retry, or check the mirror)"
    fi
}

# fetch URL FILE: downloads URL (or the mirror's copy of its file name) to FILE unless FILE already exists.
fetch() {
    local url=$1 out=$2
    if [[ -e $out ]]; then echo "  $out: already present, not downloaded again"; return; fi
    if [[ -n ${TBPTT_DATASETS_MIRROR:-} ]]; then url="${TBPTT_DATASETS_MIRROR%/}/${url##*/}"; fi
    echo "  fetching $url"
    mkdir -p "$(dirname "$out")"
    # Download to a temporary name so an interrupted transfer never looks like a finished file.
    if [[ $url == file://* ]]; then cp -- "${url#file://}" "$out.part" || die "cannot copy ${url#file://}"
    elif command -v curl >/dev/null 2>&1; then curl -fL --retry 3 -o "$out.part" "$url" || die "download failed: $url"
    elif command -v wget >/dev/null 2>&1; then wget -q -O "$out.part" "$url" || die "download failed: $url"
    else die "neither curl nor wget is installed"
    fi
    mv -f "$out.part" "$out"
}

unzip_member() {  # unzip_member ZIP MEMBER DEST
    if command -v unzip >/dev/null 2>&1; then unzip -p "$1" "$2" >"$3.part"
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import sys, zipfile, shutil; shutil.copyfileobj(zipfile.ZipFile(sys.argv[1]).open(sys.argv[2]), open(sys.argv[3], "wb"))' "$1" "$2" "$3.part"
    else die "neither unzip nor python3 is installed; cannot unpack $1"
    fi
    mv -f "$3.part" "$3"
}

# split_bytes FILE DIR TRAIN VALID TEST: the first TRAIN bytes, the next VALID, the last TEST, as DIR/*.txt.
split_bytes() {
    local file=$1 dir=$2 train=$3 valid=$4 test=$5 size
    size=$(wc -c <"$file")
    (( size == train + valid + test )) || die "$file has $size bytes, expected $((train + valid + test))"
    mkdir -p "$dir"
    head -c "$train" "$file" >"$dir/train.txt"
    tail -c +"$((train + 1))" "$file" | head -c "$valid" >"$dir/valid.txt"
    tail -c "$test" "$file" >"$dir/test.txt"
    # tbptt reads characters, strictly: a byte cut inside a multi-byte character would be reported there.
    if command -v iconv >/dev/null 2>&1; then
        local f
        for f in "$dir"/train.txt "$dir"/valid.txt "$dir"/test.txt; do
            iconv -f UTF-8 -t UTF-8 "$f" >/dev/null 2>&1 ||
                echo "  warning: $f is not valid UTF-8 (a byte cut splits a character); tbptt will name the offset" >&2
        done
    fi
}

# Published SHA-256 sums; see datasets/README.md for where each was found. Empty: none found yet.
SHAKESPEARE_URL=https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt
SHAKESPEARE_SHA256=86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed
PTB_URL=http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz
PTB_SHA256=
TEXT8_URL=http://mattmahoney.net/dc/text8.zip
TEXT8_ZIP_SHA256=a6640522afe85d1963ad56c05b0ede0a0c000dddc9671758a6cc09b7a38e5232
TEXT8_SHA256=6e890197040d37d85beb962ae1f041ff1d9a9ca8d20c7d99c85027eebf51dca7
ENWIK8_URL=http://mattmahoney.net/dc/enwik8.zip
ENWIK8_ZIP_SHA256=547994d9980ebed1288380d652999f38a14fe291a6247c157c3d33d4932534bc
ENWIK8_SHA256=2b49720ec4d78c3c9fabaee6e4179a5e997302b3a70029f30f2d582218c024a8
# The standard text8/enwik8 benchmark split, in bytes: train, valid, test.
HUTTER_SPLIT="90000000 5000000 5000000"

get_tinyshakespeare() {
    local d=$1/tinyshakespeare
    fetch "$SHAKESPEARE_URL" "$d/input.txt"
    verify_sha256 "$d/input.txt" "$SHAKESPEARE_SHA256"
    CORPUS="$d/input.txt"
}

get_ptb_char() {
    local d=$1/ptb-char s
    fetch "$PTB_URL" "$1/downloads/simple-examples.tgz"
    verify_sha256 "$1/downloads/simple-examples.tgz" "$PTB_SHA256"
    mkdir -p "$d"
    for s in train valid test; do
        # The files write one symbol per space-separated token, '_' for a word boundary, one sentence a line.
        # Dropping the separating spaces makes each character one token, as the literature counts them.
        tar -xzOf "$1/downloads/simple-examples.tgz" "./simple-examples/data/ptb.char.$s.txt" | tr -d ' ' >"$d/$s.txt.part"
        mv -f "$d/$s.txt.part" "$d/$s.txt"
        verify_sha256 "$d/$s.txt" ""
    done
    CORPUS="$d"
}

# get_hutter NAME URL ZIP_SHA FILE_SHA DIR: text8 and enwik8 share their packaging and their 90/5/5 byte split.
get_hutter() {
    local name=$1 url=$2 zip_sha=$3 file_sha=$4 d=$5/$1
    fetch "$url" "$5/downloads/$name.zip"
    verify_sha256 "$5/downloads/$name.zip" "$zip_sha"
    mkdir -p "$d"
    if [[ ! -e $d/$name ]]; then unzip_member "$5/downloads/$name.zip" "$name" "$d/$name"; fi
    verify_sha256 "$d/$name" "$file_sha"
    # shellcheck disable=SC2086 # three numbers
    split_bytes "$d/$name" "$d/split" $HUTTER_SPLIT
    CORPUS="$d/split"
}

main() {
    if [[ $# -ge 1 && ( $1 == -h || $1 == --help ) ]]; then usage; exit 0; fi
    if [[ $# -lt 1 || $# -gt 2 ]]; then usage >&2; exit 2; fi
    local name=$1 dir=${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/data}
    case $name in
        tinyshakespeare | ptb-char | text8 | enwik8) ;;
        *) echo "download.sh: unknown corpus '$name'" >&2; usage >&2; exit 2 ;;
    esac
    CORPUS=
    echo "download.sh: $name into $dir"
    case $name in
        tinyshakespeare) get_tinyshakespeare "$dir" ;;
        ptb-char) get_ptb_char "$dir" ;;
        text8) get_hutter text8 "$TEXT8_URL" "$TEXT8_ZIP_SHA256" "$TEXT8_SHA256" "$dir" ;;
        enwik8) get_hutter enwik8 "$ENWIK8_URL" "$ENWIK8_ZIP_SHA256" "$ENWIK8_SHA256" "$dir" ;;
    esac
    echo "done: tbptt charlm train --corpus $CORPUS ..."
}

# Sourcing the script (for its tests) defines the functions without running anything.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
