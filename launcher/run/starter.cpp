// The choice of Starter (starter.hpp) and the local one, over LocalDaemons.
#include "launcher/run/starter.hpp"

#include "launcher/run/local_daemons.hpp"

namespace jobset::launcher {
namespace {

class LocalStarter final : public Starter {
 public:
  explicit LocalStarter(std::string jobsetd) : jobsetd_(std::move(jobsetd)) {}

  Status start(const std::vector<std::string>& nodes, const std::string& launcher_address,
               const std::string& key_bytes) override {
    auto daemons = start_local_daemons(nodes, launcher_address, key_bytes, jobsetd_);
    if (!daemons) return daemons.error();
    daemons_ = std::move(*daemons);
    return {};
  }
  int reap_exited() override { return daemons_.reap_exited(); }
  size_t running() const override { return daemons_.pids().size(); }
  void terminate() override { daemons_.terminate(); }
  void wait_or_kill(double seconds) override { daemons_.wait_or_kill(seconds); }

 private:
  std::string jobsetd_;
  LocalDaemons daemons_;
};

}  // namespace

Result<std::unique_ptr<Starter>> choose_starter(const topology::Cluster& cluster,
                                                const StarterChoice& choice) {
  if (!choice.all_here) {
    std::string remote;
    size_t count = 0;
    for (const topology::Node& node : cluster.nodes) {
      if (is_local(node)) continue;
      if (++count <= 8) remote += (remote.empty() ? "" : ", ") + node.name;
    }
    if (count > 8) remote += " and " + std::to_string(count - 8) + " more";
    if (count > 0)
      return Error(
          (choice.listed_in.empty() ? "" : choice.listed_in + ": ") +
          (count == 1 ? "node " : "nodes ") + remote + (count == 1 ? " is" : " are") +
          " remote, which needs the ssh or srun launcher (not available yet); mark nodes of this "
          "machine local=true, or use --simulate-nodes");
  }
  return std::unique_ptr<Starter>(std::make_unique<LocalStarter>(choice.jobsetd));
}

}  // namespace jobset::launcher
