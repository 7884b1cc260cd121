#include "launcher/spec/load.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "launcher/spec/decode.hpp"
#include "launcher/spec/validate.hpp"

namespace jobset::launcher {

namespace {

// Where the first NUL byte is: a binary file, or one that a parser would
// take for text and a command line would cut short.
std::optional<Mark> first_nul(std::string_view text) {
  size_t at = text.find('\0');
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view before = text.substr(0, at);
  size_t line_start = before.rfind('\n');
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  return Mark{static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1,
              static_cast<int>(at - line_start) + 1};
}

// A manifest of another kind (a Deployment, say): the decoder says so, and
// validating the empty JobSet it returns would only add noise.
bool other_kind(const Node& root) {
  const Node* kind = root.get("kind");
  return !kind || kind->text != "JobSet" ||
         (kind->kind != Node::Kind::kString && kind->kind != Node::Kind::kScalar);
}

void report_ignored(const std::vector<std::string>& ignored, Diagnostics& diags) {
  if (ignored.empty()) return;
  std::string list;
  for (size_t i = 0; i < ignored.size() && i < 12; ++i) list += (i ? ", " : "") + printable(ignored[i]);
  if (ignored.size() > 12) list += ", ... (" + std::to_string(ignored.size() - 12) + " more)";
  diags.warning(Mark{}, "", std::to_string(ignored.size()) +
                                " Kubernetes-only field(s) have no meaning here and are ignored: " + list);
}

}  // namespace

std::optional<LoadedJobSet> load_jobset_text(std::string_view text, Format format,
                                             Diagnostics& diags, LoadOptions options) {
  if (text.size() > kMaxFileBytes) {
    diags.error(Mark{}, "", "file too large: " + std::to_string(text.size()) + " bytes, a JobSet file may have at most " +
                                std::to_string(kMaxFileBytes) + " bytes");
    return std::nullopt;
  }
  if (auto nul = first_nul(text)) {
    diags.error(*nul, "", "expected a TOML or YAML text file, found binary data (a NUL byte)");
    return std::nullopt;
  }
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    diags.error(Mark{1, 1}, "", "the file is empty; expected a JobSet (see jobset-file(5))");
    return std::nullopt;
  }
  std::optional<Node> root =
      format == Format::kToml ? parse_toml(text, diags) : parse_yaml(text, diags);
  if (!root) return std::nullopt;
  if (root->kind != Node::Kind::kTable) {
    diags.error(root->mark, "", "expected a JobSet (a table of fields), found " + describe(*root));
    return std::nullopt;
  }
  LoadedJobSet out;
  out.format = format;
  ReadContext ctx{diags, out.where, {}, options.ignore_unsupported};
  bool kubernetes = root->get("apiVersion") || root->get("kind");
  if (format == Format::kYaml && !kubernetes) {
    diags.error(root->mark, "", "expected a Kubernetes JobSet (apiVersion: jobset.x-k8s.io/v1alpha2, kind: JobSet); "
                                "jobset's native format is TOML");
    return std::nullopt;
  }
  if (!kubernetes && !root->get("name") && !root->get("replicated_jobs")) {
    diags.error(root->mark, "", "this is not a JobSet: expected the fields name and [[replicated_jobs]] (see jobset-file(5))");
    return std::nullopt;
  }
  out.jobset = kubernetes ? decode_kubernetes(*root, ctx) : decode_native(*root, ctx);
  if (kubernetes && other_kind(*root)) return std::nullopt;
  out.ignored = std::move(ctx.ignored);
  report_ignored(out.ignored, diags);
  apply_defaults(out.jobset);
  validate(out.jobset, out.where, diags, format);
  if (diags.has_errors()) return std::nullopt;
  return out;
}

std::optional<LoadedJobSet> load_jobset_file(const std::string& path, Diagnostics& diags,
                                             LoadOptions options) {
  if (path == "-") {
    std::string text;
    char buf[65536];
    while (std::cin.read(buf, sizeof buf) || std::cin.gcount() > 0) {
      text.append(buf, static_cast<size_t>(std::cin.gcount()));
      if (text.size() > kMaxFileBytes) break;
    }
    return load_jobset_text(text, guess_format("", text), diags, options);
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    diags.error(Mark{}, "", "expected a JobSet file, found a directory");
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.error(Mark{}, "", std::string("cannot read the file: ") + std::strerror(errno));
    return std::nullopt;
  }
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size > static_cast<std::streamoff>(kMaxFileBytes)) {
    diags.error(Mark{}, "", "file too large: " + std::to_string(size) +
                                " bytes, a JobSet file may have at most " + std::to_string(kMaxFileBytes) + " bytes");
    return std::nullopt;
  }
  in.seekg(0);
  std::string text(static_cast<size_t>(std::max<std::streamoff>(size, 0)), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (!in && !in.eof()) {
    diags.error(Mark{}, "", std::string("cannot read the file: ") + std::strerror(errno));
    return std::nullopt;
  }
  return load_jobset_text(text, guess_format(path, text), diags, options);
}

}  // namespace jobset::launcher
