// KVM memory slots kept in step with the memory API (QEMU's kvm_memory_listener): every RAM range
// of address_space_memory()'s flat view is a slot, ROM a read-only slot (KVM_MEM_READONLY; the
// guest's writes become MMIO exits that the ROM ignores). When the layout changes (a BAR moves, a
// device goes away) the address space reports the ranges that went and came, and the slots
// follow. What is not in a slot (devices, unaligned pieces of RAM) reaches machina as an MMIO
// exit and is dispatched through the same address space, so nothing is lost, only slower.
//
// Dirty-page logging (system/dirty_log.h): when the memory API's logging goes on, every RAM slot
// gets KVM_MEM_LOG_DIRTY_PAGES; a sync copies KVM_GET_DIRTY_LOG (which clears KVM's log) into the
// memory API's bitmap, and so does removing a slot while logging is on.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "accel/kvm/kvm-internal.h"
#include "system/address_space.h"
#include "system/dirty_log.h"

namespace machina::kvm {

namespace {

constexpr uint64_t kPage = 4096;

struct Slot {
  uint32_t id = 0;
  uint64_t gpa = 0, size = 0;
  uint64_t host = 0;
  bool readonly = false;
};

struct Slots {
  std::mutex lock;
  KvmState* state = nullptr;
  std::vector<Slot> slots;
  std::vector<bool> id_used;
  bool dirty_logging = false;
  std::string dirty_error;  // why the last change of dirty logging failed
  MemoryListener listener;
};

Slots& slots() {
  static Slots* s = new Slots;
  return *s;
}

uint32_t flags_of(const Slot& s, bool dirty) {
  if (s.readonly) return KVM_MEM_READONLY;
  return dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0;
}

int set_region(KvmState& st, const Slot& s, uint64_t size, uint32_t flags) {
  kvm_userspace_memory_region r{};
  r.slot = s.id;
  r.flags = flags;
  r.guest_phys_addr = s.gpa;
  r.memory_size = size;
  r.userspace_addr = s.host;
  return kvm_ioctl(st.vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

// The page-aligned part of a section, as a slot without an id; false if nothing is left.
bool slot_of(const MemoryRegionSection& sec, Slot* out) {
  uint64_t gpa = sec.offset_within_address_space;
  uint64_t start = (gpa + kPage - 1) & ~(kPage - 1);
  uint64_t end = (gpa + sec.size) & ~(kPage - 1);
  if (sec.size == 0 || start < gpa || end <= start) return false;
  uint64_t host = reinterpret_cast<uint64_t>(sec.host) + (start - gpa);
  if (host & (kPage - 1)) return false;  // KVM maps whole host pages
  out->gpa = start;
  out->size = end - start;
  out->host = host;
  out->readonly = sec.readonly;
  return true;
}

void region_add(const MemoryRegionSection& sec) {
  Slots& ss = slots();
  std::lock_guard l(ss.lock);
  Slot s;
  if (!ss.state || !slot_of(sec, &s)) return;
  if (s.readonly && !ss.state->readonly_mem) return;  // read through MMIO exits instead
  uint32_t id = 0;
  while (id < ss.id_used.size() && ss.id_used[id]) id++;
  if (id >= static_cast<uint32_t>(ss.state->max_slots)) {
    std::fprintf(stderr,
                 "kvm: no free memory slot for 0x%llx+0x%llx (the range is reached "
                 "through MMIO exits)\n",
                 static_cast<unsigned long long>(s.gpa), static_cast<unsigned long long>(s.size));
    return;
  }
  s.id = id;
  int r = set_region(*ss.state, s, s.size, flags_of(s, ss.dirty_logging));
  if (r < 0) {
    std::fprintf(stderr,
                 "kvm_set_user_memory_region: KVM_SET_USER_MEMORY_REGION failed, slot=%u, "
                 "start=0x%llx, size=0x%llx: %s\n",
                 id, static_cast<unsigned long long>(s.gpa),
                 static_cast<unsigned long long>(s.size), std::strerror(-r));
    return;
  }
  if (id >= ss.id_used.size()) ss.id_used.resize(id + 1);
  ss.id_used[id] = true;
  ss.slots.push_back(s);
}

// KVM's dirty log of a RAM slot (cleared by the call) into the memory API's bitmap.
Status fetch_dirty_log(KvmState& st, const Slot& s) {
  uint64_t npages = s.size / kPage;
  std::vector<uint64_t> bitmap((npages + 63) / 64);
  kvm_dirty_log d{};
  d.slot = s.id;
  d.dirty_bitmap = bitmap.data();
  int r = kvm_ioctl(st.vm_fd, KVM_GET_DIRTY_LOG, &d);
  if (r < 0)
    return generic_error("kvm: KVM_GET_DIRTY_LOG on slot " + std::to_string(s.id) +
                         " failed: " + std::strerror(-r));
  for (uint64_t w = 0; w < bitmap.size(); w++) {
    for (uint64_t bits = bitmap[w]; bits; bits &= bits - 1) {
      uint64_t page = w * 64 + uint64_t(__builtin_ctzll(bits));
      if (page < npages) ram_mark_dirty_host(reinterpret_cast<void*>(s.host + page * kPage), kPage);
    }
  }
  return Status::Ok();
}

Slot* find_slot(Slots& ss, const MemoryRegionSection& sec) {
  Slot want;
  if (!slot_of(sec, &want)) return nullptr;
  for (Slot& s : ss.slots) {
    if (s.gpa == want.gpa && s.size == want.size && s.host == want.host) return &s;
  }
  return nullptr;
}

void region_del(const MemoryRegionSection& sec) {
  Slots& ss = slots();
  std::lock_guard l(ss.lock);
  Slot want;
  if (!ss.state || !slot_of(sec, &want)) return;
  for (auto it = ss.slots.begin(); it != ss.slots.end(); ++it) {
    if (it->gpa != want.gpa || it->size != want.size || it->host != want.host) continue;
    if (ss.dirty_logging && !it->readonly) {
      // What the guest wrote there since the last sync must not be lost with the slot.
      if (Status st = fetch_dirty_log(*ss.state, *it); !st.ok())
        std::fprintf(stderr, "%s\n", st.message().c_str());
    }
    int r = set_region(*ss.state, *it, 0, 0);
    if (r < 0)
      std::fprintf(stderr, "kvm: deleting memory slot %u failed: %s\n", it->id, std::strerror(-r));
    ss.id_used[it->id] = false;
    ss.slots.erase(it);
    return;
  }
}

// KVM_MEM_LOG_DIRTY_PAGES on every RAM slot, or off. Called with ss.lock held.
Status set_logging(Slots& ss, bool on) {
  ss.dirty_logging = on;
  for (const Slot& s : ss.slots) {
    if (s.readonly) continue;
    int r = set_region(*ss.state, s, s.size, flags_of(s, on));
    if (r < 0)
      return generic_error("kvm: dirty logging on slot " + std::to_string(s.id) +
                           " failed: " + std::strerror(-r));
  }
  return Status::Ok();
}

void log_global_change(bool on) {
  Slots& ss = slots();
  std::lock_guard l(ss.lock);
  if (!ss.state) return;
  Status st = set_logging(ss, on);
  ss.dirty_error = st.ok() ? std::string() : st.message();
  if (!st.ok()) std::fprintf(stderr, "%s\n", st.message().c_str());
}

void log_sync(const MemoryRegionSection& sec) {
  Slots& ss = slots();
  std::lock_guard l(ss.lock);
  if (!ss.state || !ss.dirty_logging) return;
  const Slot* s = find_slot(ss, sec);
  if (!s || s->readonly) return;
  if (Status st = fetch_dirty_log(*ss.state, *s); !st.ok())
    std::fprintf(stderr, "%s\n", st.message().c_str());
}

}  // namespace

Status kvm_memory_listener_init(KvmState& s) {
  Slots& ss = slots();
  {
    std::lock_guard l(ss.lock);
    ss.state = &s;
    ss.listener.region_add = region_add;
    ss.listener.region_del = region_del;
    ss.listener.log_global_start = [] { log_global_change(true); };
    ss.listener.log_global_stop = [] { log_global_change(false); };
    ss.listener.log_sync = log_sync;
    ss.listener.priority = 10;  // as QEMU's kvm listener: after the others for additions
  }
  address_space_memory().add_listener(&ss.listener);
  return Status::Ok();
}

Status kvm_set_dirty_logging(bool on) {
  Slots& ss = slots();
  {
    std::lock_guard l(ss.lock);
    if (!ss.state) return generic_error("KVM is not initialized");
  }
  if (on)
    memory_global_dirty_log_start(kGlobalDirtyMigration);
  else
    memory_global_dirty_log_stop(kGlobalDirtyMigration);
  std::lock_guard l(ss.lock);
  if (!ss.dirty_error.empty()) return generic_error(ss.dirty_error);
  return Status::Ok();
}

Result<std::vector<uint64_t>> kvm_get_dirty_pages() {
  Slots& ss = slots();
  std::vector<Slot> ram;
  {
    std::lock_guard l(ss.lock);
    if (!ss.state) return generic_error("KVM is not initialized");
    if (!ss.dirty_logging) return generic_error("kvm: dirty-page logging is off");
    for (const Slot& s : ss.slots) {
      if (!s.readonly) ram.push_back(s);
    }
  }
  memory_global_dirty_log_sync();
  std::vector<uint64_t> pages;
  for (const Slot& s : ram) {
    auto p = address_space_dirty_pages_and_clear(address_space_memory(), s.gpa, s.size);
    pages.insert(pages.end(), p.begin(), p.end());
  }
  return pages;
}

std::vector<KvmSlotInfo> kvm_slots() {
  Slots& ss = slots();
  std::lock_guard l(ss.lock);
  std::vector<KvmSlotInfo> out;
  for (const Slot& s : ss.slots) out.push_back({s.gpa, s.size, s.readonly});
  return out;
}

}  // namespace machina::kvm
