// jobset: run a Kubernetes JobSet on an HPC cluster or this machine.
#include <iostream>

#include "launcher/cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return jobset::launcher::run_cli(argv[0], args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "jobset: internal error: " << e.what() << "\n";
    return jobset::launcher::kExitInternal;
  }
}
