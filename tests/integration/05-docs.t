#!/usr/bin/env perl
# SPDX-License-Identifier: GPL-2.0-only
#
# The manual in docs/ against what it documents, without root or a build:
#   - every key of conf/sluice.conf has a row in docs/configuration.md under
#     its [section], with the default the shipped file shows, and the page
#     documents no key the file lacks;
#   - every MML command of agent/mml/cmd.c's command table has a row in
#     docs/mml.md's tables that names it and each of its parameters;
#   - every relative link in README.md and docs/*.md reaches a file of this
#     repository, and its #anchor a heading of that file;
#   - the README's map names every page of docs/.
# Each failure names what is missing and where.
use strict;
use warnings;
use utf8;
use File::Basename qw(dirname);
use File::Spec;
use Cwd qw(realpath);
use Test::More;

binmode(STDOUT, ':encoding(UTF-8)');
binmode(STDERR, ':encoding(UTF-8)');
my $builder = Test::More->builder;
binmode($builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my $top = realpath(dirname(__FILE__) . '/../..');
my $conf_file = 'conf/sluice.conf';
my $conf_page = 'docs/configuration.md';
my $mml_src = 'agent/mml/cmd.c';
my $mml_page = 'docs/mml.md';

sub slurp {
	my ($rel) = @_;
	open(my $fh, '<:encoding(UTF-8)', "$top/$rel") or return undef;
	local $/;
	my $text = <$fh>;
	close($fh);
	return $text;
}

# Lines outside fenced code blocks, as [number, text].
sub prose_lines {
	my ($text) = @_;
	my ($n, $fence, @out) = (0, 0);
	for my $line (split /\n/, $text) {
		$n++;
		if ($line =~ /^\s*(```|~~~)/) {
			$fence = !$fence;
			next;
		}
		push @out, [$n, $line] unless $fence;
	}
	return @out;
}

# ---- conf/sluice.conf against docs/configuration.md ----

# [section, key, value] in file order, comments and blank lines skipped.
sub conf_keys {
	my ($text) = @_;
	my ($sec, @keys) = ('');
	for my $line (split /\n/, $text) {
		next if $line =~ /^\s*([#;]|$)/;
		if ($line =~ /^\s*\[([^\]]+)\]/) {
			$sec = $1;
		} elsif ($line =~ /^\s*([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$/) {
			push @keys, [$sec, $1, $2];
		}
	}
	return @keys;
}

# "[sec] key" => default, from rows "| `key` | `default` | ..." (or *empty*)
# under a heading that names the [section].
sub page_keys {
	my ($text) = @_;
	my ($sec, %doc) = ('');
	for (prose_lines($text)) {
		my $line = $_->[1];
		if ($line =~ /^#+\s.*\[([a-z]+)\]/) {
			$sec = $1;
		} elsif ($line =~ /^#+\s/) {
			$sec = '';
		} elsif ($sec ne '' && $line =~ /^\|\s*`([A-Za-z0-9_]+)`\s*\|\s*([^|]*?)\s*\|/) {
			my ($key, $def) = ($1, $2);
			$def = $def =~ /^`(.*)`$/ ? $1 : $def =~ /^\*empty\*$/ ? '' : "unreadable: $def";
			$doc{"[$sec] $key"} = $def;
		}
	}
	return %doc;
}

my $conf = slurp($conf_file);
my $cpage = slurp($conf_page);
ok(defined $conf, "$conf_file is readable") or BAIL_OUT("no $conf_file");
ok(defined $cpage, "$conf_page exists") or BAIL_OUT("no $conf_page");
my @keys = conf_keys($conf);
cmp_ok(scalar @keys, '>=', 40, "$conf_file has its keys (" . scalar(@keys) . ")");
my %doc = page_keys($cpage);
my %in_conf;
for (@keys) {
	my ($sec, $key, $val) = @$_;
	my $name = "[$sec] $key";
	$in_conf{$name} = 1;
	if (!exists $doc{$name}) {
		fail("$name is documented in $conf_page");
		diag("  no row | `$key` | ... | under a heading naming [$sec] in $conf_page");
	} else {
		ok($doc{$name} eq $val, "$name is documented in $conf_page with its default")
			or diag("  $conf_page says '$doc{$name}', $conf_file has '$val'");
	}
}
my @stale = grep { !$in_conf{$_} } sort keys %doc;
ok(!@stale, "$conf_page documents only keys that $conf_file has")
	or diag("  not in $conf_file: @stale");

# ---- agent/mml/cmd.c's command table against docs/mml.md ----

# "VERB OBJ" => [parameter, ...], in table order.
sub mml_commands {
	my ($src) = @_;
	my ($table) = $src =~ /static const struct mml_command commands\[\] = \{\n(.*?)\n\t\{ 0 \}\n\};/s;
	return () unless $table;
	my (@cmds, $cur);
	for my $line (split /\n/, $table) {
		if ($line =~ /^\t\{ "([A-Z]+)", "([A-Z]*)",/) {
			$cur = [$2 eq '' ? $1 : "$1 $2", []];
			push @cmds, $cur;
			$line =~ s/^\t\{ "[A-Z]+", "[A-Z]*",//;
		}
		next unless $cur;
		push @{$cur->[1]}, $1 while $line =~ /\{ "([A-Z]+)", (?:true|false),/g;
	}
	return @cmds;
}

my $msrc = slurp($mml_src);
my $mpage = slurp($mml_page);
ok(defined $msrc, "$mml_src is readable") or BAIL_OUT("no $mml_src");
ok(defined $mpage, "$mml_page exists") or BAIL_OUT("no $mml_page");
my @cmds = mml_commands($msrc);
cmp_ok(scalar @cmds, '>=', 20, "${mml_src}'s command table is read (" . scalar(@cmds) . " commands)")
	or diag("  the pattern of commands[] in $mml_src changed: update this test");
my @rows = grep { $_ =~ /^\|/ } map { $_->[1] } prose_lines($mpage);
for (@cmds) {
	my ($name, $params) = @$_;
	my @row = grep { /^\|\s*`\Q$name\E`\s*\|/ } @rows;
	if (!@row) {
		fail("MML $name is documented in $mml_page");
		diag("  no table row starting | `$name` | in $mml_page");
		next;
	}
	my @missing = grep { $row[0] !~ /\b\Q$_\E\b/ } @$params;
	ok(!@missing, "MML $name is documented in $mml_page with its parameters")
		or diag("  its row lacks: @missing");
}

# ---- links ----

# GitHub's anchors: lower case, punctuation dropped, blanks to hyphens,
# repeats numbered.
sub anchors {
	my ($text) = @_;
	my (%seen, %a);
	for (prose_lines($text)) {
		next unless $_->[1] =~ /^#{1,6}\s+(.*?)\s*#*\s*$/;
		my $slug = lc $1;
		$slug =~ s/[^\w\- ]//g;
		$slug =~ s/ /-/g;
		my $n = $seen{$slug}++;
		$a{$n ? "$slug-$n" : $slug} = 1;
	}
	return \%a;
}

opendir(my $dh, "$top/docs") or BAIL_OUT("no docs/");
my @pages = sort grep { /\.md$/ } readdir($dh);
closedir($dh);
cmp_ok(scalar @pages, '>', 0, "docs/ has pages");
my (%anchor_cache, $nlinks);
for my $file ('README.md', map { "docs/$_" } @pages) {
	my $text = slurp($file);
	my @bad;
	for (prose_lines($text)) {
		my ($n, $line) = @$_;
		$line =~ s/`[^`]*`//g;	# inline code is not a link
		while ($line =~ /\[[^\]]*\]\(([^)\s]+)\)/g) {
			my $target = $1;
			next if $target =~ m{^[a-z]+:}i;	# http:, https:, mailto:
			$nlinks++;
			my ($path, $frag) = $target =~ /^([^#]*)(?:#(.*))?$/;
			my $rel = $path eq '' ? $file
				: File::Spec->abs2rel(realpath("$top/" . dirname($file) . "/$path") // "$top/" . dirname($file) . "/$path", $top);
			my $abs = "$top/$rel";
			if ($rel =~ m{^\.\./} || !-e $abs) {
				push @bad, "$file:$n: $target: " .
					($rel =~ m{^\.\./} ? "outside the repository" : "no such file");
				next;
			}
			next unless defined $frag && $rel =~ /\.md$/;
			$anchor_cache{$rel} //= anchors(slurp($rel));
			push @bad, "$file:$n: $target: no heading #$frag in $rel"
				unless $anchor_cache{$rel}{$frag};
		}
	}
	ok(!@bad, "$file: every relative link resolves") or diag(join("\n", map { "  $_" } @bad));
}
cmp_ok($nlinks, '>', 20, "links were found and checked ($nlinks)");

my $readme = slurp('README.md');
my @unmapped = grep { $readme !~ /\]\(docs\/\Q$_\E\)/ } @pages;
ok(!@unmapped, "README.md's map links every page of docs/") or diag("  not linked: @unmapped");

done_testing();
