// Spellings of the JobSet enums, as the Kubernetes API writes them.
#include "launcher/spec/spec.hpp"

#include <array>
#include <utility>

namespace jobset::launcher {

namespace {

template <typename E, size_t N>
using Names = std::array<std::pair<E, const char*>, N>;

constexpr Names<PodFailureAction, 4> kPodFailureActions{{
    {PodFailureAction::kFailJob, "FailJob"},
    {PodFailureAction::kIgnore, "Ignore"},
    {PodFailureAction::kCount, "Count"},
    {PodFailureAction::kFailIndex, "FailIndex"},
}};
constexpr Names<ExitCodeOperator, 2> kExitCodeOperators{{
    {ExitCodeOperator::kIn, "In"},
    {ExitCodeOperator::kNotIn, "NotIn"},
}};
constexpr Names<DependencyStatus, 2> kDependencyStatuses{{
    {DependencyStatus::kReady, "Ready"},
    {DependencyStatus::kComplete, "Complete"},
}};
constexpr Names<SuccessOperator, 2> kSuccessOperators{{
    {SuccessOperator::kAll, "All"},
    {SuccessOperator::kAny, "Any"},
}};
constexpr Names<FailureAction, 5> kFailureActions{{
    {FailureAction::kFailJobSet, "FailJobSet"},
    {FailureAction::kRestartJobSet, "RestartJobSet"},
    {FailureAction::kRestartJobSetAndIgnoreMaxRestarts, "RestartJobSetAndIgnoreMaxRestarts"},
    {FailureAction::kRestartJob, "RestartJob"},
    {FailureAction::kRestartJobAndIgnoreMaxRestarts, "RestartJobAndIgnoreMaxRestarts"},
}};
constexpr Names<RestartStrategy, 3> kRestartStrategies{{
    {RestartStrategy::kRecreate, "Recreate"},
    {RestartStrategy::kBlockingRecreate, "BlockingRecreate"},
    {RestartStrategy::kInPlaceRestart, "InPlaceRestart"},
}};
constexpr Names<StartupOrder, 2> kStartupOrders{{
    {StartupOrder::kAnyOrder, "AnyOrder"},
    {StartupOrder::kInOrder, "InOrder"},
}};

template <typename E, size_t N>
const char* name_of(const Names<E, N>& names, E e) {
  for (const auto& [v, s] : names)
    if (v == e) return s;
  return "?";
}

template <typename E, size_t N>
bool value_of(const Names<E, N>& names, const std::string& s, E& out) {
  for (const auto& [v, n] : names)
    if (s == n) {
      out = v;
      return true;
    }
  return false;
}

template <typename E, size_t N>
std::vector<std::string> all_names(const Names<E, N>& names) {
  std::vector<std::string> out;
  for (const auto& [v, n] : names) out.emplace_back(n);
  return out;
}

}  // namespace

const char* to_string(PodFailureAction a) { return name_of(kPodFailureActions, a); }
const char* to_string(ExitCodeOperator o) { return name_of(kExitCodeOperators, o); }
const char* to_string(DependencyStatus s) { return name_of(kDependencyStatuses, s); }
const char* to_string(SuccessOperator o) { return name_of(kSuccessOperators, o); }
const char* to_string(FailureAction a) { return name_of(kFailureActions, a); }
const char* to_string(RestartStrategy s) { return name_of(kRestartStrategies, s); }
const char* to_string(StartupOrder o) { return name_of(kStartupOrders, o); }

bool parse_enum(const std::string& s, PodFailureAction& out) { return value_of(kPodFailureActions, s, out); }
bool parse_enum(const std::string& s, ExitCodeOperator& out) { return value_of(kExitCodeOperators, s, out); }
bool parse_enum(const std::string& s, DependencyStatus& out) { return value_of(kDependencyStatuses, s, out); }
bool parse_enum(const std::string& s, SuccessOperator& out) { return value_of(kSuccessOperators, s, out); }
bool parse_enum(const std::string& s, FailureAction& out) { return value_of(kFailureActions, s, out); }
bool parse_enum(const std::string& s, RestartStrategy& out) { return value_of(kRestartStrategies, s, out); }
bool parse_enum(const std::string& s, StartupOrder& out) { return value_of(kStartupOrders, s, out); }

const std::vector<std::string>& enum_names(PodFailureAction) {
  static const auto v = all_names(kPodFailureActions);
  return v;
}
const std::vector<std::string>& enum_names(ExitCodeOperator) {
  static const auto v = all_names(kExitCodeOperators);
  return v;
}
const std::vector<std::string>& enum_names(DependencyStatus) {
  static const auto v = all_names(kDependencyStatuses);
  return v;
}
const std::vector<std::string>& enum_names(SuccessOperator) {
  static const auto v = all_names(kSuccessOperators);
  return v;
}
const std::vector<std::string>& enum_names(FailureAction) {
  static const auto v = all_names(kFailureActions);
  return v;
}
const std::vector<std::string>& enum_names(RestartStrategy) {
  static const auto v = all_names(kRestartStrategies);
  return v;
}
const std::vector<std::string>& enum_names(StartupOrder) {
  static const auto v = all_names(kStartupOrders);
  return v;
}

const std::vector<std::string>& job_failure_reasons() {
  static const std::vector<std::string> reasons{"BackoffLimitExceeded", "DeadlineExceeded",
                                                "FailedIndexes", "MaxFailedIndexesExceeded",
                                                "PodFailurePolicy"};
  return reasons;
}

}  // namespace jobset::launcher
