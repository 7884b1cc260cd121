// libFuzzer target over the JobSet readers (run by tests/fuzz/run.sh, or
// `make fuzz`). The first byte picks the format (even: TOML, odd: YAML; the
// seeds start with 't' or 'y'), the rest is the file. Whatever the bytes,
// loading must end in a JobSet or in errors. A JobSet that loads must also
// expand (within a small bound, so that huge replica counts cost nothing)
// into consistent ranks, and survive the native TOML writer: the written
// file loads again and gives the same model. A broken promise aborts, which
// libFuzzer reports as a crash with the input saved.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "launcher/spec/expand.hpp"
#include "launcher/spec/load.hpp"
#include "launcher/spec/toml_writer.hpp"

namespace {

using namespace jobset::launcher;

constexpr int64_t kFuzzMaxProcesses = 10'000;

[[noreturn]] void broken(const char* promise, const std::string& detail) {
  std::fprintf(stderr, "parse_fuzz: broken promise: %s\n%s\n", promise, detail.c_str());
  std::abort();
}

void check_diagnostics(const std::optional<LoadedJobSet>& loaded, const Diagnostics& diags) {
  if (loaded.has_value() == diags.has_errors())
    broken("a load returns a JobSet exactly when there is no error", diags.to_string());
  for (const Diagnostic& d : diags.all())
    if (d.message.empty()) broken("every diagnostic has a message", diags.to_string());
}

void check_expansion(const JobSet& js) {
  int64_t count = count_processes(js);
  auto ex = expand(js, kFuzzMaxProcesses);
  if (!ex.ok()) {
    if (count <= kFuzzMaxProcesses) broken("expand succeeds within its bound", ex.error().message());
    return;
  }
  const auto& procs = ex->processes;
  if (static_cast<int64_t>(procs.size()) != count)
    broken("expand gives count_processes() processes", std::to_string(procs.size()));
  for (size_t i = 0; i < procs.size(); ++i)
    if (procs[i].global_rank != static_cast<int32_t>(i)) broken("ranks are 0..n-1 in order", procs[i].name);
  if (ex->coordinator && (*ex->coordinator < 0 || *ex->coordinator >= static_cast<int32_t>(procs.size())))
    broken("the coordinator is one of the processes", std::to_string(*ex->coordinator));
}

void check_round_trip(const LoadedJobSet& loaded) {
  std::string toml = to_toml(loaded.jobset, loaded.ignored);
  Diagnostics again("round-trip.toml");
  auto reloaded = load_jobset_text(toml, Format::kToml, again);
  if (!reloaded) broken("the written TOML loads", toml + "\n" + again.to_string());
  if (!(reloaded->jobset == loaded.jobset)) broken("the written TOML gives the same JobSet", toml);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Format format = (data[0] & 1) ? Format::kYaml : Format::kToml;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  Diagnostics diags(format == Format::kToml ? "fuzz.toml" : "fuzz.yaml");
  auto loaded = load_jobset_text(text, format, diags);
  (void)diags.to_string();
  check_diagnostics(loaded, diags);
  if (!loaded) return 0;
  check_expansion(loaded->jobset);
  check_round_trip(*loaded);
  return 0;
}
