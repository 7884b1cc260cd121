// Names and values every node source shares (hostfile, cluster file,
// Slurm text): host names, label keys, memory sizes, quoting for messages;
// and Slurm hostlist expressions ("n[01-04,07]", "rack[1-2]-gpu[1-8]",
// "a,b[1-2]"), expanded to the names they stand for. Pure functions.
//
// Written by hand rather than taken from libslurm (slurm_hostlist_create):
// the launcher must start fast and run where Slurm is not installed, so it
// must not load libslurm on every start nor depend on it for a 150-line
// parser. The tests check it against what `scontrol show hostnames` prints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "topology/cluster.hpp"

namespace jobset::launcher {

// 'text' for a message: control and non-ASCII bytes as \xNN, long text cut
// at 80 bytes with "...".
std::string quote_text(std::string_view text);

// A problem inside a piece of text: the byte offset it is at, and what.
struct TextProblem {
  size_t offset = 0;
  std::string message;
};

// RFC 1123 host names (IPv4 addresses included), with '_' allowed like '-':
// dot-separated parts of letters, digits, '-' and '_' that start and end
// with a letter or digit; at most 253 bytes, 63 per part.
// "host name: expected letters, digits, '-', '_' or '.', found ' ' in 'a b'".
std::optional<TextProblem> check_host_name(std::string_view name);

// Kubernetes-style label keys: [prefix/]name of letters, digits, '-', '_'
// and '.', at most one '/'. "label key: expected ..., found '+' in 'a+b'".
std::optional<TextProblem> check_label_key(std::string_view key);

// A decimal integer in [min, max], digits only. Errors do not name the
// field: "expected a positive integer, found 'x'" ("non-negative" when
// min is 0), "expected at most 2147483647, found '9999999999'".
Result<int64_t> parse_integer(std::string_view text, int64_t min, int64_t max);

// A memory size: a byte count ("4096"), or a count with a binary unit,
// case-insensitive, 'i' and 'B' optional: K, M, G, T, P, E ("512G",
// "64GiB", "16gb", "8Mi", "100B"). Every unit is a power of 1024, as in
// Slurm, Open MPI and free(1): "1G" and "1GiB" are both 2^30. Whole
// numbers only. Errors say what was expected and do not name the field:
// "expected a size like 512G, 64GiB or a byte count, found '1.5G'".
Result<int64_t> parse_size(std::string_view text);

// Expands a hostlist expression into names, in Slurm's order.
//
// Syntax: entries separated by commas outside brackets; each entry is
// literal text with bracket groups anywhere in it. A group holds
// comma-separated items: a number ("7"), a range of numbers ("01-04") or,
// beyond Slurm, a word of letters, digits, '_' and '.' ("a"). A range keeps
// the width of its start, zero padding included: "n[08-10]" gives n08 n09
// n10, "n[1-010]" gives n1..n10 (as Slurm does). Several groups in one
// entry give every combination, the first group varying slowest:
// "g[1-2]-[a,b]" is g1-a g1-b g2-a g2-b. Slurm itself accepts neither
// words in brackets nor text after the last group; both are accepted here.
//
// Names are returned as written, duplicates included ("n[1-2],n1" gives n1
// n2 n1): whether a repeat is an error is the caller's call, and so is
// checking that each name is a valid host name.
//
// Errors name the entry: "entry 'n[3-1]': range end below start",
// "entry 'n[1-2': '[' without ']'", "entry 2: expected a name, found
// nothing" (for "a,,b"). More than `max_names` names in all is an error
// ("expected at most 1000000 names, found 'n[1-2000000]' alone giving
// 2000000"), checked before anything is built.
Result<std::vector<std::string>> expand_hostlist(std::string_view expression,
                                                 int64_t max_names = topology::kMaxClusterNodes);

}  // namespace jobset::launcher
