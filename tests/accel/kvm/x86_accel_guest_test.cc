// One list of x86-64 guest tests, two accelerators: every test runs under the software CPU
// ("tcg") and under KVM ("kvm") through the vCPU threads the machine uses, and must give the
// same result. Where KVM is unusable (no /dev/kvm, no permission) the KVM cases are reported as
// skipped with the reason, never as passed.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "accel/kvm/kvm-cpu-exec.h"
#include "accel/kvm/kvm-internal.h"
#include "accel/kvm/kvm.h"
#include "accel/kvm/x86_accel_runner.h"
#include "guest/x86/accel.h"
#include "guest/x86/mailbox.h"
#include "hw/pci/pci-device.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/virtio.h"
#include "system/address_space.h"
#include "system/memory_epoch.h"
#include "util/bql.h"
#include "util/event_notifier.h"

namespace machina::test {
namespace {

// Whether the host CPU has hardware virtualization (else /dev/kvm is PVM, a software
// virtualizer: see ../shared/notes/machines.md).
bool host_has_vmx_or_svm() {
  std::ifstream f("/proc/cpuinfo");
  std::stringstream s;
  s << f.rdbuf();
  std::string t = s.str();
  return t.find(" vmx") != std::string::npos || t.find(" svm") != std::string::npos;
}

class X86AccelGuest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why = X86AccelRunner::unavailable_reason(GetParam());
    if (!why.empty()) GTEST_SKIP() << why;
    runner_ = std::make_unique<X86AccelRunner>(GetParam());
  }

  void expect_pass(const std::string& name, const std::string& cmdline = "") {
    AccelOutcome o = runner_->run(name, cmdline);
    ASSERT_TRUE(o.loaded) << o.explanation;
    EXPECT_TRUE(o.started) << o.explanation;
    EXPECT_TRUE(o.reported) << o.explanation;
    EXPECT_EQ(o.value, uint32_t{GT_PASS}) << name << " on " << GetParam() << ": " << o.explanation;
    EXPECT_EQ(o.stop, "port");
    RecordProperty("seconds", std::to_string(o.seconds));
  }

  std::unique_ptr<X86AccelRunner> runner_;
};

// Port I/O at CPL 3 with IOPL 3: 8/16/32-bit, string I/O, a device model, round trips, CPUID.
TEST_P(X86AccelGuest, PortIoFromUserMode) {
  AccelOutcome o = runner_->run("portio");
  // PVM (KVM without vmx/svm) does not honour IOPL 3 at CPL 3: the first OUT takes #GP. That is
  // the host's limit, reported as such; on hardware virtualization it must pass.
  if (GetParam() == "kvm" && !host_has_vmx_or_svm() && o.value == 0x1101 &&
      o.explanation.find("returned through its gate\": actual 0xd,") != std::string::npos)
    GTEST_SKIP() << "this host's KVM (PVM) does not honour IOPL 3 at CPL 3 (the guest's OUT took "
                    "#GP); port I/O is tested from CPL 0 by PortIoFromKernelMode";
  EXPECT_TRUE(o.started) << o.explanation;
  EXPECT_EQ(o.value, uint32_t{GT_PASS}) << "portio on " << GetParam() << ": " << o.explanation;
  EXPECT_EQ(o.stop, "port");
}

// The same port I/O from CPL 0, as a driver does it.
TEST_P(X86AccelGuest, PortIoFromKernelMode) {
  expect_pass("portio", "kernel");
}

// MMIO at CPL 3: register block, ROM, a RAM window moved twice (slot changes), unassigned.
TEST_P(X86AccelGuest, MmioFromUserMode) {
  expect_pass("mmio");
  EXPECT_EQ(runner_->moves(), 2u);
}

// Interrupts from the local APIC model delivered into user mode (KVM: KVM_INTERRUPT and the
// interrupt window), with EOI through its MMIO page.
TEST_P(X86AccelGuest, InterruptsIntoUserMode) {
  uint64_t msis = kvm::kvm_irqchip_stats().msis;
  expect_pass("irq");
  // With KVM's irqchip the test device's messages went to KVM_SIGNAL_MSI, one per interrupt.
  if (GetParam() == "kvm" && kvm::kvm_irqchip_in_kernel()) {
    EXPECT_EQ(kvm::kvm_irqchip_stats().msis - msis, 10u);
  }
}

bool kvm_holds_ioeventfd(uint64_t addr, bool pio) {
  for (const kvm::KvmIoeventfdInfo& i : kvm::kvm_ioeventfds())
    if (i.addr == addr && i.pio == pio) return true;
  return false;
}

// A virtio queue driven from CPL 3: the kicks reach the device through its host notifier (an
// ioeventfd of the memory API) and the used buffers come back as MSI-X interrupts. Under KVM the
// kernel catches the notify writes (KVM_IOEVENTFD): not one reaches machina's vCPU thread.
TEST_P(X86AccelGuest, VirtioKickFromUserMode) {
  uint64_t notifiers_before = EventNotifier::live_count();
  uint64_t mmio_exits_before = kvm::kvm_mmio_write_exits_at(ACC_VIRTIO_NOTIFY);
  uint64_t pio_exits_before = kvm::kvm_pio_write_exits_at(ACC_VIRTIO_LEGACY + 16);
  uint64_t status_exits_before = kvm::kvm_mmio_write_exits_at(ACC_VIRTIO_BAR + 0x14);
  kvm::KvmIrqchipStats irq_before = kvm::kvm_irqchip_stats();
  ASSERT_TRUE(runner_->add_virtio_rng().ok());
  expect_pass("virtio");
  VirtioDevice* vdev = runner_->virtio_backend();
  ASSERT_NE(vdev, nullptr);
  // Eight kicks from CPL 3 through the notify region, one from CPL 0 through the legacy port:
  // all of them through the host notifier, whoever caught the write.
  EXPECT_EQ(vdev->host_notifier_kicks(), 9u);
  ASSERT_NE(vdev->host_notifier(0), nullptr);
  EXPECT_GT(EventNotifier::live_count(), notifiers_before);
  if (GetParam() == "kvm") {
    EXPECT_TRUE(kvm_holds_ioeventfd(ACC_VIRTIO_NOTIFY, false));
    EXPECT_TRUE(kvm_holds_ioeventfd(ACC_VIRTIO_LEGACY + 16, true));
    // The count sees the writes that do exit (the driver's status writes)...
    EXPECT_GE(kvm::kvm_mmio_write_exits_at(ACC_VIRTIO_BAR + 0x14), status_exits_before + 5);
    // ... and no notify write.
    EXPECT_EQ(kvm::kvm_mmio_write_exits_at(ACC_VIRTIO_NOTIFY), mmio_exits_before)
        << "a notify write left KVM_RUN";
    EXPECT_EQ(kvm::kvm_pio_write_exits_at(ACC_VIRTIO_LEGACY + 16), pio_exits_before)
        << "a legacy notify write left KVM_RUN";
  }
  auto* proxy = static_cast<VirtioPciProxy*>(runner_->virtio_pci());
  if (GetParam() == "kvm" && kvm::kvm_irqchip_in_kernel()) {
    // The used-buffer interrupts went through an irqfd bound to MSI-X vector 0: the device
    // signalled the eventfd, KVM injected; no KVM_SIGNAL_MSI, no vCPU exit.
    EXPECT_EQ(proxy->irqfd_signals(), 9u);
    EXPECT_EQ(proxy->irqfd_vectors(), 1u);
    EXPECT_EQ(kvm::kvm_irqchip_stats().irqfds, irq_before.irqfds + 1);
    EXPECT_EQ(kvm::kvm_irqchip_stats().msis, irq_before.msis);
  } else {
    // Machina's own local APIC: MSI-X messages as usual.
    EXPECT_EQ(proxy->irqfd_signals(), 0u);
  }
  // The device goes: its ioeventfds leave KVM and their descriptors are closed.
  runner_->remove_virtio();
  EXPECT_EQ(EventNotifier::live_count(), notifiers_before);
  EXPECT_FALSE(kvm_holds_ioeventfd(ACC_VIRTIO_NOTIFY, false));
  EXPECT_FALSE(kvm_holds_ioeventfd(ACC_VIRTIO_LEGACY + 16, true));
  EXPECT_EQ(kvm::kvm_irqchip_stats().irqfds, irq_before.irqfds);  // the irqfd went too
}

// Two CPUs: the boot CPU starts CPU 1 with INIT and start-up IPIs through its local APIC (the
// model, or KVM's with kernel-irqchip=on); CPU 1 runs a real-mode trampoline, is started again
// only by INIT + start-up, and ends halted where the trampoline left it.
TEST_P(X86AccelGuest, StartsAnApplicationProcessor) {
  runner_->set_cpus(2);
  AccelOutcome o = runner_->run("smp");
  ASSERT_TRUE(o.loaded) << o.explanation;
  EXPECT_EQ(o.value, uint32_t{GT_PASS}) << "smp on " << GetParam() << ": " << o.explanation;
  EXPECT_EQ(o.stop, "port");
  ASSERT_EQ(o.cpu_states.size(), 2u);
  const x86::CpuState& ap = o.cpu_states[1];
  EXPECT_EQ(ap.apic_id, 1u);
  EXPECT_FALSE(ap.wait_sipi);
  EXPECT_TRUE(ap.halted);
  EXPECT_EQ(ap.seg[x86::CS].selector, 0x7000);  // vector 0x70
  EXPECT_EQ(ap.cr0 & 1, 0u) << "CPU 1 runs in real mode";
}

// Board interrupt lines (GSI 5, and GSI 0 on pin 2) through an I/O APIC into user mode:
// machina's I/O APIC model, or with kernel-irqchip=on KVM_IRQ_LINE into KVM's routes and I/O APIC.
TEST_P(X86AccelGuest, BoardLinesThroughTheIoApic) {
  uint64_t lines = kvm::kvm_irqchip_stats().irq_lines;
  expect_pass("gsi");
  if (GetParam() == "kvm" && kvm::kvm_irqchip_in_kernel()) {
    EXPECT_EQ(kvm::kvm_irqchip_stats().irq_lines - lines, 20u);  // 10 pulses: raise + lower
    // A machine reset masks KVM's I/O APIC pins again (the guest unmasked 2 and 5) and has each
    // vCPU reset its local APIC before it runs again.
    auto pin = [](unsigned n) {
      kvm_irqchip c{};
      c.chip_id = KVM_IRQCHIP_IOAPIC;
      EXPECT_EQ(kvm::kvm_ioctl(kvm::kvm_state()->vm_fd, KVM_GET_IRQCHIP, &c), 0);
      return c.chip.ioapic.redirtbl[n].bits;
    };
    EXPECT_EQ(pin(5) & 0x100ff, 0x55u);  // unmasked, vector 0x55
    uint64_t epoch = kvm::kvm_irqchip_reset_epoch();
    ASSERT_TRUE(kvm::kvm_irqchip_reset().ok());
    EXPECT_EQ(pin(5), uint64_t{1} << 16);
    EXPECT_EQ(pin(2), uint64_t{1} << 16);
    EXPECT_EQ(kvm::kvm_irqchip_reset_epoch(), epoch + 1);
  }
}

TEST_P(X86AccelGuest, HarnessPasses) {
  AccelOutcome o = runner_->run("harness", "pass");
  EXPECT_EQ(o.value, uint32_t{GT_PASS}) << o.explanation;
  EXPECT_EQ(o.stop, "port");
}

TEST_P(X86AccelGuest, HarnessSeesAFailedCheckInUserMode) {
  AccelOutcome o = runner_->run("harness", "fail-user");
  ASSERT_TRUE(o.reported) << o.explanation;
  EXPECT_EQ(o.value, 0xf02u);
  EXPECT_NE(o.explanation.find("\"deliberate failure at CPL 3\": actual 0x3, expected 0x4"),
            std::string::npos)
      << o.explanation;
}

TEST_P(X86AccelGuest, HarnessSeesAnUnexpectedException) {
  AccelOutcome o = runner_->run("harness", "unexpected-ud");
  ASSERT_TRUE(o.reported) << o.explanation;
  EXPECT_EQ(o.value, uint32_t{GT_UNEXPECTED(6)});
  EXPECT_NE(o.explanation.find("unexpected exception: vector 0x6"), std::string::npos)
      << o.explanation;
}

// A triple fault stops the vCPU and asks for a reset (here, with no-reboot, a shutdown).
TEST_P(X86AccelGuest, TripleFaultRequestsAReset) {
  AccelOutcome o = runner_->run("harness", "triple");
  EXPECT_FALSE(o.reported) << o.explanation;
  EXPECT_EQ(o.stop, "triple fault") << o.explanation;
}

TEST_P(X86AccelGuest, MissingGuestIsReported) {
  AccelOutcome o = runner_->run("no-such-guest");
  EXPECT_FALSE(o.loaded);
  EXPECT_NE(o.explanation.find("no-such-guest"), std::string::npos) << o.explanation;
}

// The memory slots KVM holds follow the memory API: RAM and ROM (read-only) while a runner is
// set up, the moved RAM window at its new place, nothing of it once the runner is gone.
TEST(KvmMemorySlots, FollowTheMemoryMap) {
  std::string why = X86AccelRunner::unavailable_reason("kvm");
  if (!why.empty()) GTEST_SKIP() << why;
  auto find = [](uint64_t gpa) -> const kvm::KvmSlotInfo* {
    static std::vector<kvm::KvmSlotInfo> slots;
    slots = kvm::kvm_slots();
    for (const auto& s : slots)
      if (s.gpa == gpa) return &s;
    return nullptr;
  };
  {
    X86AccelRunner r("kvm");
    const kvm::KvmSlotInfo* ram = find(0);
    ASSERT_NE(ram, nullptr);
    EXPECT_EQ(ram->size, X86AccelRunner::kRamSize);
    EXPECT_FALSE(ram->readonly);
    const kvm::KvmSlotInfo* rom = find(ACC_ROM);
    ASSERT_NE(rom, nullptr);
    EXPECT_EQ(rom->size, uint64_t{ACC_ROM_SIZE});
    EXPECT_TRUE(rom->readonly);
    EXPECT_NE(find(ACC_WIN_A), nullptr);
    EXPECT_EQ(find(ACC_WIN_B), nullptr);
    EXPECT_EQ(find(ACC_MMIO), nullptr);  // a device: MMIO exits
    AccelOutcome o = r.run("mmio");      // moves the window to B and back
    EXPECT_EQ(o.value, uint32_t{GT_PASS}) << o.explanation;
    EXPECT_NE(find(ACC_WIN_A), nullptr);
    EXPECT_EQ(find(ACC_WIN_B), nullptr);
    ASSERT_TRUE(kvm::kvm_set_dirty_logging(true).ok());
    ASSERT_TRUE(kvm::kvm_set_dirty_logging(false).ok());
  }
  EXPECT_EQ(find(0), nullptr);
  EXPECT_EQ(find(ACC_ROM), nullptr);
  EXPECT_EQ(find(ACC_WIN_A), nullptr);
}

// Dirty-page logging: the pages the guest writes (its mailbox, its stack) are in KVM's dirty log,
// each reported once; pages it does not touch are not.
TEST(KvmDirtyLog, ReportsThePagesTheGuestWrote) {
  std::string why = X86AccelRunner::unavailable_reason("kvm");
  if (!why.empty()) GTEST_SKIP() << why;
  X86AccelRunner r("kvm");
  EXPECT_FALSE(kvm::kvm_get_dirty_pages().ok());  // logging off
  ASSERT_TRUE(kvm::kvm_set_dirty_logging(true).ok());
  ASSERT_TRUE(kvm::kvm_get_dirty_pages().ok());  // clears what came before
  AccelOutcome o = r.run("harness", "pass");
  ASSERT_EQ(o.value, uint32_t{GT_PASS}) << o.explanation;
  auto pages = kvm::kvm_get_dirty_pages();
  ASSERT_TRUE(pages.ok()) << pages.message();
  auto has = [&](uint64_t gpa) {
    return std::find(pages.value().begin(), pages.value().end(), gpa & ~uint64_t{0xfff}) !=
           pages.value().end();
  };
  EXPECT_TRUE(has(GT_MAILBOX)) << pages.value().size() << " dirty pages";
  EXPECT_FALSE(has(0x3000000));  // 48 MiB: nothing there
  auto again = kvm::kvm_get_dirty_pages();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again.value().empty()) << again.value().size();  // the vCPU is stopped
  ASSERT_TRUE(kvm::kvm_set_dirty_logging(false).ok());
}

// The ioeventfds KVM holds follow the notify region: the driver's DRIVER_OK registers them, a
// moved BAR moves them, memory decoding off withdraws the MMIO one, a reset the rest (and the
// descriptors close).
TEST(KvmIoeventfds, FollowTheNotifyRegion) {
  std::string why = X86AccelRunner::unavailable_reason("kvm");
  if (!why.empty()) GTEST_SKIP() << why;
  uint64_t notifiers_before = EventNotifier::live_count();
  X86AccelRunner r("kvm");
  ASSERT_TRUE(r.add_virtio_rng().ok());
  auto* pci = static_cast<PciDevice*>(r.virtio_pci());
  auto common = [](unsigned off, unsigned len, uint64_t v) {
    BqlGuard bql;
    (void)address_space_memory().write(ACC_VIRTIO_BAR + off, len, v);
  };
  constexpr uint64_t kMoved = 0x0e000000;
  constexpr uint64_t kLegacyNotify = ACC_VIRTIO_LEGACY + 16;
  EXPECT_FALSE(kvm_holds_ioeventfd(ACC_VIRTIO_NOTIFY, false));
  for (uint8_t st : {1, 3}) common(0x14, 1, st);
  common(0x08, 4, 1);  // driver features 32-63: VERSION_1
  common(0x0c, 4, 1);
  common(0x14, 1, 0xb);
  EXPECT_FALSE(kvm_holds_ioeventfd(ACC_VIRTIO_NOTIFY, false)) << "before DRIVER_OK";
  common(0x14, 1, 0xf);
  EXPECT_TRUE(kvm_holds_ioeventfd(ACC_VIRTIO_NOTIFY, false));
  EXPECT_TRUE(kvm_holds_ioeventfd(kLegacyNotify, true));
  EXPECT_EQ(EventNotifier::live_count(), notifiers_before + 1);  // one queue
  {
    BqlGuard bql;
    pci->config_write(0x20, kMoved, 4);
  }
  EXPECT_FALSE(kvm_holds_ioeventfd(ACC_VIRTIO_NOTIFY, false));
  EXPECT_TRUE(kvm_holds_ioeventfd(kMoved + 0x3000, false));
  {
    BqlGuard bql;
    pci->config_write(0x04, 0x5, 2);  // memory decoding off
  }
  EXPECT_FALSE(kvm_holds_ioeventfd(kMoved + 0x3000, false));
  EXPECT_TRUE(kvm_holds_ioeventfd(kLegacyNotify, true));
  {
    BqlGuard bql;
    (void)address_space_io().write(ACC_VIRTIO_LEGACY + 18, 1, 0);  // legacy status 0: reset
  }
  EXPECT_FALSE(kvm_holds_ioeventfd(kLegacyNotify, true));
  (void)epoch_drain();
  EXPECT_EQ(EventNotifier::live_count(), notifiers_before);
}

// kernel-irqchip as asked (MACHINA_TEST_KVM_IRQCHIP): KVM's 8259s, I/O APIC, local APICs and
// PIT, or none of them.
TEST(KvmIrqchip, IsTheModeAsked) {
  std::string why = X86AccelRunner::unavailable_reason("kvm");
  if (!why.empty()) GTEST_SKIP() << why;
  bool on = kvm_irqchip_mode() == "on";
  EXPECT_EQ(kvm::kvm_irqchip_in_kernel(), on);
  ASSERT_NE(kvm::kvm_state(), nullptr);
  EXPECT_EQ(kvm::kvm_state()->pit_in_kernel, on);
  if (on) {
    EXPECT_GE(kvm::kvm_irqchip_stats().route_commits, 1u);  // the PC's GSI routes
    EXPECT_GE(kvm::kvm_set_irq(4, 1), 0);                   // a GSI line reaches KVM
    EXPECT_GE(kvm::kvm_set_irq(4, 0), 0);
    // The edge stays latched in KVM's 8259 (whose vector base is still 0): a guest run next in
    // this process with interrupts on would take it as vector 4. A machine reset clears it.
    EXPECT_TRUE(kvm::kvm_irqchip_reset().ok());
  } else {
    EXPECT_EQ(kvm::kvm_set_irq(4, 1), -ENODEV);
  }
}

TEST(KvmIrqchip, SplitAndBadValuesAreRefused) {
  QemuOpts split;
  split.opts.push_back({"kernel-irqchip", "split"});
  Status s = kvm::kvm_init(split);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("kernel-irqchip=split is not supported"), std::string::npos);
  QemuOpts bad;
  bad.opts.push_back({"kernel-irqchip", "maybe"});
  s = kvm::kvm_init(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "Parameter 'kernel-irqchip' does not accept value 'maybe'");
}

INSTANTIATE_TEST_SUITE_P(Accel, X86AccelGuest, ::testing::Values("tcg", "kvm"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace machina::test
