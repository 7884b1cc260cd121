// Waiters (waiters.hpp).
#include "rendezvous/waiters.hpp"

namespace jobset::rdzv {

uint64_t Waiters::add(Waiter w) {
  uint64_t handle = next_++;
  by_subject_.emplace(w.subject, handle);
  by_origin_.emplace(w.origin, handle);
  if (w.deadline) by_deadline_.emplace(*w.deadline, handle);
  ++per_caller_[w.caller];
  waiters_.emplace(handle, std::move(w));
  return handle;
}

std::optional<Waiter> Waiters::take(uint64_t handle) {
  auto it = waiters_.find(handle);
  if (it == waiters_.end()) return std::nullopt;
  Waiter w = std::move(it->second);
  waiters_.erase(it);
  by_subject_.erase({w.subject, handle});
  by_origin_.erase({w.origin, handle});
  if (w.deadline) by_deadline_.erase({*w.deadline, handle});
  auto c = per_caller_.find(w.caller);
  if (c != per_caller_.end() && --c->second == 0) per_caller_.erase(c);
  return w;
}

const Waiter* Waiters::find(uint64_t handle) const {
  auto it = waiters_.find(handle);
  return it == waiters_.end() ? nullptr : &it->second;
}

std::vector<uint64_t> Waiters::on(const std::string& subject) const {
  std::vector<uint64_t> handles;
  for (auto it = by_subject_.lower_bound({subject, 0});
       it != by_subject_.end() && it->first == subject; ++it)
    handles.push_back(it->second);
  return handles;
}

std::vector<uint64_t> Waiters::expired(int64_t now_ms) const {
  std::vector<uint64_t> handles;
  for (const auto& [deadline, handle] : by_deadline_) {
    if (deadline > now_ms) break;
    handles.push_back(handle);
  }
  return handles;
}

std::vector<uint64_t> Waiters::from(const Origin& origin) const {
  std::vector<uint64_t> handles;
  for (auto it = by_origin_.lower_bound({origin, 0}); it != by_origin_.end() && it->first == origin;
       ++it)
    handles.push_back(it->second);
  return handles;
}

std::vector<uint64_t> Waiters::all() const {
  std::vector<uint64_t> handles;
  handles.reserve(waiters_.size());
  for (const auto& entry : waiters_) handles.push_back(entry.first);
  return handles;
}

std::optional<int64_t> Waiters::next_deadline() const {
  if (by_deadline_.empty()) return std::nullopt;
  return by_deadline_.begin()->first;
}

size_t Waiters::count(const std::string& caller) const {
  auto it = per_caller_.find(caller);
  return it == per_caller_.end() ? 0 : it->second;
}

}  // namespace jobset::rdzv
