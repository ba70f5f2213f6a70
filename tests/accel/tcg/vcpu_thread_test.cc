// The software CPU's vCPU thread: runs when resumed, sleeps in HLT until an interrupt request,
// takes the interrupt through the IDT, stops on pause and keeps the request for later.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "hw/i386/x86-direct-boot.h"
#include "system/cpus.h"
#include "system/memory.h"
#include "target/i386/x86-cpu.h"

namespace machina {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kCode = 0x200000, kHandler = 0x200010, kCounter = 0x300000, kIdt = 0x310000;
constexpr uint8_t kVector = 0x40;

// A local interrupt controller that always has kVector to give.
class FakeLapic : public x86::LocalInterruptController {
 public:
  explicit FakeLapic(x86::X86Cpu* cpu) : cpu_(cpu) {}
  int acknowledge_interrupt() override {
    acks++;
    cpu_->lower_interrupt(x86::kCpuIrqHard);
    return kVector;
  }
  uint8_t cr8() const override { return 0; }
  void set_cr8(uint8_t) override {}
  uint64_t apic_base() const override { return 0xfee00900; }
  bool set_apic_base(uint64_t) override { return true; }
  void cpu_reset() override {}
  std::atomic<int> acks{0};

 private:
  x86::X86Cpu* cpu_;
};

class VcpuThreadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ram_.init_ram(nullptr, "vcpu-test-ram", 8 << 20).ok());
    ASSERT_TRUE(get_system_memory()->add_subregion(0, &ram_).ok());
    DirectBootState boot;
    ASSERT_TRUE(x86_write_long_mode_structures(&boot).ok());
    const uint8_t code[] = {0xfb,                                               // sti
                            0xf4,                                               // lp: hlt
                            0xeb, 0xfd};                                        // jmp lp
    const uint8_t handler[] = {0x48, 0xff, 0x04, 0x25, 0x00, 0x00, 0x30, 0x00,  // inc [counter]
                               0x48, 0xcf};                                     // iretq
    write(kCode, code, sizeof code);
    write(kHandler, handler, sizeof handler);
    // Interrupt gate for kVector: offset kHandler, selector 0x10, present, DPL 0, type 0xE.
    uint32_t gate[4] = {(0x10u << 16) | (kHandler & 0xffff), (kHandler & 0xffff0000) | 0x8e00, 0,
                        0};
    write(kIdt + kVector * 16, gate, sizeof gate);
    cpu_ = new x86::X86Cpu(x86::x86_default_cpu_model());
    cpu_->enter_long_mode(boot.cr3, boot.gdt_base, boot.gdt_limit, kCode, 0);
    cpu_->state().idtr = {kIdt, 0xfff};
    cpu_->state().regs[x86::RSP] = 0x280000;
    lapic_ = std::make_unique<FakeLapic>(cpu_);
    cpu_->set_local_interrupt_controller(lapic_.get());
    set_current_accel("tcg");
    vcpu_ = std::move(accel_create_vcpu(*cpu_).value());
    ASSERT_NE(vcpu_, nullptr);
  }
  void TearDown() override {
    vcpu_.reset();
    set_current_accel("none");
    cpu_->unref();
    (void)get_system_memory()->del_subregion(&ram_);
  }
  void write(uint64_t addr, const void* p, size_t n) {
    ASSERT_TRUE(dma_write(address_space_memory(), addr, p, n).ok());
  }
  uint64_t counter() {
    uint64_t v = 0;
    EXPECT_TRUE(dma_read(address_space_memory(), kCounter, &v, 8).ok());
    return v;
  }
  bool wait_counter(uint64_t want) {
    for (int i = 0; i < 400; i++) {
      if (counter() == want) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  MemoryRegion ram_;
  x86::X86Cpu* cpu_ = nullptr;
  std::unique_ptr<FakeLapic> lapic_;
  std::unique_ptr<Vcpu> vcpu_;
};

TEST_F(VcpuThreadTest, InterruptWakesHaltedCpuAndRunsHandler) {
  vcpu_->resume();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(counter(), 0u);  // halted, nothing pending
  cpu_->raise_interrupt(x86::kCpuIrqHard);
  ASSERT_TRUE(wait_counter(1));
  cpu_->raise_interrupt(x86::kCpuIrqHard);
  ASSERT_TRUE(wait_counter(2));
  EXPECT_EQ(lapic_->acks.load(), 2);
}

TEST_F(VcpuThreadTest, PausedCpuKeepsTheRequestUntilResumed) {
  vcpu_->resume();
  cpu_->raise_interrupt(x86::kCpuIrqHard);
  ASSERT_TRUE(wait_counter(1));
  vcpu_->pause();
  cpu_->raise_interrupt(x86::kCpuIrqHard);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(counter(), 1u);
  vcpu_->resume();
  ASSERT_TRUE(wait_counter(2));
}

TEST_F(VcpuThreadTest, NotResumedMeansNotRunning) {
  cpu_->raise_interrupt(x86::kCpuIrqHard);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(counter(), 0u);
  EXPECT_EQ(lapic_->acks.load(), 0);
  vcpu_->terminate();
}

}  // namespace
}  // namespace machina
