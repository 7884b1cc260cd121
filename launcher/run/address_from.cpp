// --address-from (address_from.hpp).
#include "launcher/run/address_from.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <optional>

namespace jobset::launcher {
namespace {

struct Bytes {
  std::array<uint8_t, 16> b{};
  int len = 0;  // 4 or 16
};

std::optional<Bytes> parse_ip(const std::string& text) {
  Bytes out;
  if (inet_pton(AF_INET, text.c_str(), out.b.data()) == 1) {
    out.len = 4;
    return out;
  }
  if (inet_pton(AF_INET6, text.c_str(), out.b.data()) == 1) {
    out.len = 16;
    return out;
  }
  return std::nullopt;
}

bool in_block(const Bytes& a, const Bytes& net, int prefix) {
  if (a.len != net.len) return false;
  for (int bit = 0; bit < prefix; ++bit) {
    const uint8_t mask = static_cast<uint8_t>(0x80U >> (bit % 8));
    if ((a.b[bit / 8] & mask) != (net.b[bit / 8] & mask)) return false;
  }
  return true;
}

std::string found(const std::vector<Interface>& interfaces) {
  std::string s;
  for (const Interface& i : interfaces) s += (s.empty() ? "" : ", ") + i.name + " " + i.address;
  return s.empty() ? "no interface with an address" : s;
}

}  // namespace

Result<std::string> pick_address(const std::vector<Interface>& interfaces, const std::string& spec) {
  const std::string where = "--address-from " + spec + ": ";
  const size_t slash = spec.find('/');
  if (slash == std::string::npos) {
    const Interface* v6 = nullptr;
    for (const Interface& i : interfaces) {
      if (i.name != spec) continue;
      if (i.address.find(':') == std::string::npos) return i.address;
      if (!v6) v6 = &i;
    }
    if (v6) return v6->address;
    return Error(where + "no interface of that name has an address (this host has: " +
                 found(interfaces) + ")");
  }
  auto net = parse_ip(spec.substr(0, slash));
  const std::string bits = spec.substr(slash + 1);
  char* end = nullptr;
  const long prefix = bits.empty() ? -1 : std::strtol(bits.c_str(), &end, 10);
  if (!net || prefix < 0 || *end != '\0' || prefix > static_cast<long>(net->len) * 8)
    return Error(where + "expected an interface name or an address block such as 10.0.0.0/8 or "
                         "fd00::/8");
  for (const Interface& i : interfaces) {
    auto a = parse_ip(i.address);
    if (a && in_block(*a, *net, static_cast<int>(prefix))) return i.address;
  }
  return Error(where + "no address of this host is inside that block (this host has: " +
               found(interfaces) + ")");
}

std::vector<Interface> host_interfaces() {
  std::vector<Interface> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
    const int family = i->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    std::array<char, INET6_ADDRSTRLEN> text{};
    const void* raw = family == AF_INET
                          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr)
                          : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr);
    if (!inet_ntop(family, raw, text.data(), text.size())) continue;
    out.push_back(Interface{i->ifa_name, text.data(), (i->ifa_flags & IFF_LOOPBACK) != 0});
  }
  freeifaddrs(list);
  return out;
}

}  // namespace jobset::launcher
