#include "system/memory_region.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "qom/object.h"
#include "system/memory_epoch.h"
#include "system/memory_internal.h"
#include "system/ram_dirty.h"

namespace machina {

namespace {

constexpr unsigned __int128 kSpace = static_cast<unsigned __int128>(1) << 64;
// Largest RAM region we try to allocate (128 TiB, the x86-64 user address space).
constexpr uint64_t kMaxRamSize = uint64_t{1} << 47;

unsigned __int128 size_from_u64(uint64_t size) {
  return size == std::numeric_limits<uint64_t>::max() ? kSpace : size;
}

[[noreturn]] void fatal(const char* what, const std::string& name) {
  std::fprintf(stderr, "machina: memory region '%s': %s\n", name.c_str(), what);
  std::abort();
}

}  // namespace

MemoryRegion::~MemoryRegion() {
  if (container_ || !subregions_.empty()) {
    MemoryTransaction t;
    if (container_) (void)container_->del_subregion(this);
    while (!subregions_.empty()) (void)del_subregion(subregions_.front());
    // Inside an outer transaction the removal would only be rendered at its commit: do it now,
    // so that the views mapping this region can be retired.
    memory_flush_pending();
  }
  if (view_refs() > 0) {
    // Only reachable for regions without owner (an owner is kept alive by the views).
    if (epoch_in_reader()) fatal("destroyed inside a memory read section while mapped", name_);
    (void)epoch_drain();
    if (view_refs() > 0) fatal("destroyed while still mapped (root or alias target?)", name_);
  }
  release_resources();
}

void MemoryRegion::release_resources() {
  ram_dirty_destroy(ram_dirty_);
  ram_dirty_ = nullptr;
  if (mapped_len_) munmap(host_, mapped_len_);
  if (fd_ >= 0) close(fd_);
  host_ = nullptr;
  mapped_len_ = 0;
  fd_ = -1;
  if (alias_owner_ref_) alias_owner_ref_->unref();
  alias_owner_ref_ = nullptr;
  alias_ = nullptr;
  ops_ = MemoryRegionOps{};
  if (!ioeventfds_.empty()) {
    MemoryTransaction t;
    ioeventfds_.clear();
    memory_topology_changed();
  }
}

void MemoryRegion::reset_for_init(Object* owner, std::string name, uint64_t size, Kind kind) {
  if (container_ || view_refs() > 0) fatal("initialised again while mapped", name_);
  {
    MemoryTransaction t;
    while (!subregions_.empty()) (void)del_subregion(subregions_.front());
  }
  release_resources();
  owner_ = owner;
  name_ = std::move(name);
  size_ = size_from_u64(size);
  kind_ = kind;
  addr_ = 0;
  priority_ = 0;
  enabled_ = true;
  readonly_ = false;
  alias_offset_ = 0;
}

void MemoryRegion::init_container(Object* owner, std::string name, uint64_t size) {
  reset_for_init(owner, std::move(name), size, Kind::Container);
}

Status MemoryRegion::init_ram(Object* owner, std::string name, uint64_t size, RamBacking backing) {
  reset_for_init(owner, std::move(name), size, Kind::Ram);
  if (size == 0) return Status::Ok();
  auto fail = [&](int err) -> Status {
    std::string msg = "cannot set up guest memory '" + name_ + "': " + std::strerror(err);
    release_resources();
    kind_ = Kind::None;
    size_ = 0;
    return generic_error(std::move(msg));
  };
  if (size > kMaxRamSize) return fail(ENOMEM);
  void* p = MAP_FAILED;
  if (backing == RamBacking::Memfd) {
    fd_ = memfd_create(name_.substr(0, 200).c_str(), MFD_CLOEXEC);
    if (fd_ < 0) return fail(errno);
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) return fail(errno);
    p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  } else {
    p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
             0);
  }
  if (p == MAP_FAILED) return fail(errno);
  host_ = static_cast<uint8_t*>(p);
  mapped_len_ = size;
  ram_dirty_ = ram_dirty_create(host_, size);
  return Status::Ok();
}

void MemoryRegion::init_ram_ptr(Object* owner, std::string name, uint64_t size, void* host) {
  reset_for_init(owner, std::move(name), size, Kind::Ram);
  host_ = static_cast<uint8_t*>(host);
  ram_dirty_ = ram_dirty_create(host_, size);
}

Status MemoryRegion::init_rom(Object* owner, std::string name, uint64_t size) {
  Status s = init_ram(owner, std::move(name), size);
  if (s.ok()) readonly_ = true;
  return s;
}

void MemoryRegion::init_io(Object* owner, std::string name, MemoryRegionOps ops, uint64_t size) {
  reset_for_init(owner, std::move(name), size, Kind::Io);
  ops_ = std::move(ops);
}

void MemoryRegion::init_alias(Object* owner, std::string name, MemoryRegion* target,
                              uint64_t offset, uint64_t size) {
  reset_for_init(owner, std::move(name), size, Kind::Alias);
  alias_ = target;
  alias_offset_ = offset;
  if (target && target->owner_ && target->owner_ != owner) {
    alias_owner_ref_ = target->owner_;
    alias_owner_ref_->ref();
  }
}

uint64_t MemoryRegion::size() const {
  return size_ >= kSpace ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(size_);
}

const char* MemoryRegion::type_word() const {
  const MemoryRegion* mr = this;
  for (int depth = 0; mr->kind_ == Kind::Alias && mr->alias_ && depth < 64; ++depth) {
    mr = mr->alias_;
  }
  if (mr->kind_ == Kind::Ram) return mr->readonly_ ? "rom" : "ram";
  return "i/o";
}

bool MemoryRegion::contains_in_tree(const MemoryRegion* other) const {
  for (const MemoryRegion* p = this; p; p = p->container_) {
    if (p == other) return true;
  }
  return false;
}

void MemoryRegion::insert_sorted(MemoryRegion* sub) {
  // Before the first subregion of lower or equal priority: newest wins among equals.
  auto it = std::find_if(subregions_.begin(), subregions_.end(),
                         [&](const MemoryRegion* o) { return sub->priority_ >= o->priority_; });
  subregions_.insert(it, sub);
}

Status MemoryRegion::add_subregion(uint64_t offset, MemoryRegion* sub, int priority) {
  if (!sub) return generic_error("add_subregion: no region given");
  MemoryTransaction t;
  if (sub->container_) {
    return generic_error("memory region '" + sub->name_ + "' is already mapped in '" +
                         sub->container_->name_ + "'");
  }
  if (contains_in_tree(sub)) {
    return generic_error("memory region '" + sub->name_ + "' cannot be its own subregion");
  }
  sub->container_ = this;
  sub->addr_ = offset;
  sub->priority_ = priority;
  insert_sorted(sub);
  memory_topology_changed();
  return Status::Ok();
}

Status MemoryRegion::del_subregion(MemoryRegion* sub) {
  MemoryTransaction t;
  if (!sub || sub->container_ != this) {
    return generic_error("memory region '" + (sub ? sub->name_ : std::string("(null)")) +
                         "' is not a subregion of '" + name_ + "'");
  }
  subregions_.erase(std::find(subregions_.begin(), subregions_.end(), sub));
  sub->container_ = nullptr;
  memory_topology_changed();
  return Status::Ok();
}

void MemoryRegion::set_enabled(bool enabled) {
  MemoryTransaction t;
  if (enabled_ == enabled) return;
  enabled_ = enabled;
  memory_topology_changed();
}

void MemoryRegion::set_address(uint64_t addr) {
  MemoryTransaction t;
  if (addr_ == addr) return;
  addr_ = addr;
  if (MemoryRegion* c = container_) {
    c->subregions_.erase(std::find(c->subregions_.begin(), c->subregions_.end(), this));
    c->insert_sorted(this);
    memory_topology_changed();
  }
}

void MemoryRegion::set_size(uint64_t size) {
  MemoryTransaction t;
  if (size_ == size_from_u64(size)) return;
  size_ = size_from_u64(size);
  memory_topology_changed();
}

void MemoryRegion::set_alias_offset(uint64_t offset) {
  MemoryTransaction t;
  if (alias_offset_ == offset) return;
  alias_offset_ = offset;
  memory_topology_changed();
}

void MemoryRegion::set_readonly(bool readonly) {
  MemoryTransaction t;
  if (readonly_ == readonly) return;
  readonly_ = readonly;
  memory_topology_changed();
}

void MemoryRegion::add_eventfd(uint64_t addr, unsigned size, bool match_data, uint64_t data,
                               std::shared_ptr<EventNotifier> notifier) {
  if (!notifier) return;
  MemoryTransaction t;
  for (const auto& e : ioeventfds_) {
    if (e.same(addr, size, match_data, data, notifier.get())) return;
  }
  ioeventfds_.push_back(
      MemoryRegionIoeventfd{addr, size, match_data, match_data ? data : 0, std::move(notifier)});
  memory_topology_changed();
}

void MemoryRegion::del_eventfd(uint64_t addr, unsigned size, bool match_data, uint64_t data,
                               const EventNotifier* notifier) {
  MemoryTransaction t;
  for (auto it = ioeventfds_.begin(); it != ioeventfds_.end(); ++it) {
    if (!it->same(addr, size, match_data, data, notifier)) continue;
    ioeventfds_.erase(it);
    memory_topology_changed();
    return;
  }
}

}  // namespace machina
