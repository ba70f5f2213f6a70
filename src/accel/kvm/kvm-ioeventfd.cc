// ioeventfds in the kernel (QEMU's kvm_mem_ioeventfd_add / kvm_io_ioeventfd_add): a listener on
// address_space_memory() and address_space_io() registers every ioeventfd of the memory map with
// KVM_IOEVENTFD, so that the guest's matching write signals the eventfd inside KVM and never
// leaves KVM_RUN. One KVM cannot take (no KVM_CAP_IOEVENTFD, a length it refuses) stays with
// machina's dispatch, which signals the same eventfd after an exit: slower, never lost.
#include <linux/kvm.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include "accel/kvm/kvm-internal.h"
#include "system/address_space.h"
#include "util/event_notifier.h"

namespace machina::kvm {

namespace {

struct Registered {
  KvmIoeventfdInfo info;
  const EventNotifier* notifier;
};

struct Ioeventfds {
  std::mutex lock;
  KvmState* state = nullptr;
  bool any_length = false;
  std::vector<Registered> list;
  MemoryListener mem, io;
};

Ioeventfds& ioeventfds() {
  static Ioeventfds* s = new Ioeventfds;
  return *s;
}

int assign(KvmState& s, const FlatIoeventfd& e, bool pio, bool deassign) {
  kvm_ioeventfd a{};
  a.addr = e.addr;
  a.len = e.size;
  a.fd = e.notifier->fd();
  a.datamatch = e.data;
  a.flags = (e.match_data ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0u) |
            (pio ? KVM_IOEVENTFD_FLAG_PIO : 0u) | (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0u);
  return kvm_ioctl(s.vm_fd, KVM_IOEVENTFD, &a);
}

void add(const FlatIoeventfd& e, bool pio) {
  Ioeventfds& s = ioeventfds();
  std::lock_guard l(s.lock);
  if (!s.state) return;
  if (e.size == 0 && (pio || !s.any_length)) return;  // machina's dispatch signals it
  int r = assign(*s.state, e, pio, false);
  if (r < 0) {
    std::fprintf(stderr,
                 "kvm: KVM_IOEVENTFD failed for %s 0x%llx (len %u): %s; the writes exit to "
                 "machina instead\n",
                 pio ? "port" : "address", static_cast<unsigned long long>(e.addr), e.size,
                 std::strerror(-r));
    return;
  }
  s.list.push_back(
      Registered{KvmIoeventfdInfo{e.addr, e.size, pio, e.match_data, e.data, e.notifier->fd()},
                 e.notifier.get()});
}

void del(const FlatIoeventfd& e, bool pio) {
  Ioeventfds& s = ioeventfds();
  std::lock_guard l(s.lock);
  if (!s.state) return;
  for (auto it = s.list.begin(); it != s.list.end(); ++it) {
    const KvmIoeventfdInfo& i = it->info;
    if (it->notifier != e.notifier.get() || i.addr != e.addr || i.size != e.size || i.pio != pio ||
        i.match_data != e.match_data || i.data != e.data)
      continue;
    int r = assign(*s.state, e, pio, true);
    if (r < 0)
      std::fprintf(stderr, "kvm: removing ioeventfd at 0x%llx failed: %s\n",
                   static_cast<unsigned long long>(e.addr), std::strerror(-r));
    s.list.erase(it);
    return;
  }
}

}  // namespace

void kvm_ioeventfd_listener_init(KvmState& st) {
  Ioeventfds& s = ioeventfds();
  {
    std::lock_guard l(s.lock);
    if (kvm_ioctl_value(st.vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0) return;
    s.state = &st;
    s.any_length = kvm_ioctl_value(st.vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;
    st.ioeventfds = true;
    s.mem.eventfd_add = [](const FlatIoeventfd& e) { add(e, false); };
    s.mem.eventfd_del = [](const FlatIoeventfd& e) { del(e, false); };
    s.io.eventfd_add = [](const FlatIoeventfd& e) { add(e, true); };
    s.io.eventfd_del = [](const FlatIoeventfd& e) { del(e, true); };
    s.mem.priority = s.io.priority = 10;
  }
  address_space_memory().add_listener(&s.mem);
  address_space_io().add_listener(&s.io);
}

std::vector<KvmIoeventfdInfo> kvm_ioeventfds() {
  Ioeventfds& s = ioeventfds();
  std::lock_guard l(s.lock);
  std::vector<KvmIoeventfdInfo> out;
  for (const Registered& r : s.list) out.push_back(r.info);
  return out;
}

}  // namespace machina::kvm
