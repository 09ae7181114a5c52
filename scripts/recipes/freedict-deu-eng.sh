#!/usr/bin/env bash
# Real-data recipe: German -> English word/phrase translation from the FreeDict
# (Ding) dictionary that Debian ships as dict-freedict-deu-eng (GPL/AGPL).
#
#   scripts/recipes/freedict-deu-eng.sh [OUT_DIR]     (default data/freedict-deu-eng)
#
# Writes OUT_DIR/{train,valid,test}.tsv, one `german<TAB>english` pair a line:
# each German headword (a word or short phrase, case kept: German capitalises
# nouns, so "Essen" (food) and "essen" (eat) are different sources) with one
# cleaned English translation. A headword with several dictionary entries gets
# the translation named most often across its entries; ties go to the entry
# with the most text (examples, cross-references), which in Ding marks the main
# sense. Cleaning drops pronunciation, <grammar>, [domain], (notes), {refs};
# pairs with an empty side, a control character or a side over 40 characters
# are dropped. The split is 98/1/1 by a 32-bit FNV-1a hash of the lowercased
# German side (about 3,700 valid and test pairs, enough to score and cheap to
# decode), so a headword and its case variants stay in one split and the split
# is the same on every run and machine. Each split is ordered by that hash (a
# fixed shuffle), so the first valid_max_sentences pairs are a fair sample.
# Needs bash, coreutils, gzip and perl.
set -euo pipefail
export LC_ALL=C

out="${1:-data/freedict-deu-eng}"
pkg="dict-freedict-deu-eng"
# FREEDICT_INDEX / FREEDICT_DICT read other dictd files (the tests use a small one).
index="${FREEDICT_INDEX:-/usr/share/dictd/freedict-deu-eng.index}"
dict="${FREEDICT_DICT:-/usr/share/dictd/freedict-deu-eng.dict.dz}"

die() { echo "freedict-deu-eng.sh: $*" >&2; exit 1; }

if [ ! -f "$index" ] || [ ! -f "$dict" ]; then
  [ "$(id -u)" -eq 0 ] || die "$index is missing and installing $pkg needs root: run 'apt-get install -y --no-install-recommends $pkg' as root"
  command -v apt-get > /dev/null || die "$index is missing and there is no apt-get to install $pkg (a Debian/Ubuntu package)"
  echo "installing $pkg with apt-get" >&2
  if ! { apt-get install -y --no-install-recommends "$pkg" > /dev/null ||
         { apt-get update > /dev/null && apt-get install -y --no-install-recommends "$pkg" > /dev/null; }; }; then
    die "apt-get could not install $pkg (no network or no package list?)"
  fi
  if [ ! -f "$index" ] || [ ! -f "$dict" ]; then die "$pkg is installed but $index or $dict is missing (dpkg -L $pkg lists its files)"; fi
fi
command -v perl > /dev/null || die "perl is needed"
command -v zcat > /dev/null || die "zcat (gzip) is needed to read $dict"

mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Stage 1: one `split<TAB>german<TAB>english` line per headword.
perl -e '
use strict; use warnings;
my ($index, $dict) = @ARGV;
my %b64; my $i = 0; $b64{$_} = $i++ for ("A".."Z", "a".."z", "0".."9", "+", "/");
sub num { my $n = 0; for (split //, $_[0]) { die "bad index number $_[0]\n" unless exists $b64{$_}; $n = $n * 64 + $b64{$_} } $n }
my %len;
open my $ix, "<", $index or die "$index: $!\n";
while (<$ix>) { chomp; my @f = split /\t/; $len{num($f[1])} = num($f[2]) if @f == 3 }
close $ix;
my $text = do { local $/; open my $dz, "-|", "zcat", $dict or die "zcat $dict: $!\n"; my $t = <$dz>; close $dz or die "zcat $dict failed\n"; $t };

sub clean {   # one translation item: drop annotations, squeeze spaces
  my $s = shift;
  1 while $s =~ s/\([^()]*\)//g;
  $s =~ s/\[[^\]]*\]|\{[^}]*\}|<[^>]*>//g;
  $s =~ s/\s+/ /g; $s =~ s/^ | $//g;
  return $s;
}
my %cand;     # german -> [[english, entry length, [items]], ...]
for my $off (sort { $a <=> $b } keys %len) {
  my $e = substr($text, $off, $len{$off});   # offsets are bytes: decode after cutting
  utf8::decode($e) or die "$dict: entry at byte $off is not UTF-8\n";
  my @l = split /\n/, $e;
  next unless @l >= 2 && $l[0] !~ /^00-?database/;
  my ($de, $en) = @l[0, 1];
  $de =~ s/\s+<[^<>]*>\s*$//; $de =~ s/\s+\/[^\/]*\/\s*$//; $de =~ s/\s+/ /g; $de =~ s/^ | $//g;
  next if $en =~ /^\s*(?:"|Synonyms?:|see:|Note:)/;
  $en =~ s/^\s*(?:\[[^\]]*\]\s*)+//;          # leading [domain] labels
  $en =~ s/<[^>]*>/,/g;                        # <n> ends an item ("television <n>ETV")
  my @items = grep { length } map { clean($_) } split /[,;]/, $en;
  next unless @items;
  push @{$cand{$de}}, [$items[0], length($l[0]) + length(join "", @l[1..$#l]), \@items];
}
sub fnv { my $h = 2166136261; utf8::encode(my $b = shift); for (unpack "C*", $b) { $h = (($h ^ $_) * 16777619) % 4294967296 } $h }
for my $de (sort keys %cand) {
  my %votes; for my $c (@{$cand{$de}}) { $votes{lc $_}++ for @{$c->[2]} }
  my ($best) = sort { $votes{lc $b->[0]} <=> $votes{lc $a->[0]} || $b->[1] <=> $a->[1] || $a->[0] cmp $b->[0] } @{$cand{$de}};
  my $en = $best->[0];
  next if $de eq "" || $en eq "" || length($de) > 40 || length($en) > 40;
  next if "$de$en" =~ /[\p{Cc}\p{Cf}\x{2028}\x{2029}]/;
  my $h = fnv(lc $de); my $b = $h % 100;
  my $split = $b < 98 ? "train" : $b < 99 ? "valid" : "test";
  my $line = sprintf "%s\t%010u\t%s\t%s\n", $split, $h, $de, $en; utf8::encode($line); print $line;
}
' "$index" "$dict" > "$tmp/all.tsv"

for split in train valid test; do
  awk -F'\t' -v s="$split" '$1 == s { print $2 "\t" $3 "\t" $4 }' "$tmp/all.tsv" | sort | cut -f2- > "$tmp/$split.tsv"
  mv "$tmp/$split.tsv" "$out/$split.tsv"
done
echo "wrote $out (pairs: train $(wc -l < "$out/train.tsv"), valid $(wc -l < "$out/valid.tsv"), test $(wc -l < "$out/test.tsv"))"
