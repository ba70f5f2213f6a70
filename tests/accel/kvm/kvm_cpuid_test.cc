// The CPUID table handed to KVM: the model's answers, feature words limited to what KVM
// supports, KVM's paravirtual leaves (no /dev/kvm needed).
#include <asm/kvm_para.h>
#include <gtest/gtest.h>

#include <cstring>

#include "target/i386/cpu-models.h"
#include "target/i386/kvm/kvm-cpu.h"

namespace machina::x86 {
namespace {

const kvm_cpuid_entry2* leaf(const std::vector<kvm_cpuid_entry2>& v, uint32_t fn) {
  for (const auto& e : v)
    if (e.function == fn && e.index == 0) return &e;
  return nullptr;
}

TEST(KvmCpuid, ModelLeavesFilteredBySupport) {
  const X86CpuModel& m = x86_default_cpu_model();
  std::vector<kvm_cpuid_entry2> supported(2);
  supported[0].function = 1;
  supported[0].edx = ~feat::kSSE2;  // the host cannot run SSE2
  supported[0].ecx = 0;
  supported[1].function = 0x80000001;
  supported[1].edx = ~0u;
  supported[1].ecx = ~0u;
  auto t = kvm_x86_cpuid(m, 3, {}, supported, true);
  uint32_t want[4];
  cpuid_query(m, 3, {}, 0, 0, want);
  const kvm_cpuid_entry2* l0 = leaf(t, 0);
  ASSERT_NE(l0, nullptr);
  EXPECT_EQ(l0->ebx, want[1]);  // vendor
  const kvm_cpuid_entry2* l1 = leaf(t, 1);
  ASSERT_NE(l1, nullptr);
  cpuid_query(m, 3, {}, 1, 0, want);
  EXPECT_EQ(l1->eax, want[0]);
  EXPECT_EQ(l1->ebx >> 24, 3u);  // APIC ID
  EXPECT_EQ(l1->edx, want[3] & ~feat::kSSE2);
  EXPECT_EQ(l1->ecx, want[2] & feat::kHypervisor);  // only the model's hypervisor bit
  const kvm_cpuid_entry2* e1 = leaf(t, 0x80000001);
  ASSERT_NE(e1, nullptr);
  EXPECT_TRUE(e1->edx & feat::kLM);
  EXPECT_NE(leaf(t, 0x80000008), nullptr);
}

// -cpu host: KVM's supported table as it is, with the CPU's APIC ID and the hypervisor bit.
TEST(KvmCpuid, HostModelIsWhatKvmSupports) {
  const X86CpuModel* host = x86_cpu_model_find("host");
  ASSERT_NE(host, nullptr);
  EXPECT_TRUE(host->host);
  std::vector<kvm_cpuid_entry2> supported(4);
  supported[0].function = 0;
  supported[0].eax = 0x10;
  supported[0].ebx = 0x756e6547;  // Genu
  supported[1].function = 1;
  supported[1].ebx = 0x00010800;
  supported[1].ecx = 0x00802001;  // no hypervisor bit
  supported[1].edx = 0x178bfbff;
  supported[2].function = 7;
  supported[2].flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
  supported[2].ebx = 0x219c07ab;  // AVX2, BMI, ...: beyond qemu64
  supported[3].function = 0xb;
  supported[3].index = 1;
  supported[3].flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
  supported[3].ecx = 0x201;
  auto t = kvm_x86_cpuid(*host, 5, {}, supported, true);
  ASSERT_EQ(t.size(), supported.size());
  EXPECT_EQ(t[0].ebx, 0x756e6547u);
  EXPECT_EQ(t[1].ebx, 0x05010800u);  // APIC ID 5
  EXPECT_EQ(t[1].ecx, 0x00802001u | feat::kHypervisor);
  EXPECT_EQ(t[1].edx, 0x178bfbffu & ~(1u << 28));  // HTT is the machine's: one CPU here
  EXPECT_EQ(t[2].ebx, 0x219c07abu);
  EXPECT_EQ(t[3].index, 1u);
  EXPECT_EQ(t[3].ecx, 0x201u);
  EXPECT_EQ(t[3].edx, 5u);  // x2APIC ID
}

TEST(KvmCpuid, NothingSupportedMeansNoFeatures) {
  auto t = kvm_x86_cpuid(x86_default_cpu_model(), 0, {}, {}, true);
  const kvm_cpuid_entry2* l1 = leaf(t, 1);
  ASSERT_NE(l1, nullptr);
  EXPECT_EQ(l1->edx, 0u);
}

// As QEMU's models under KVM: leaf 0x40000000 says "KVMKVMKVM" and 0x40000001 offers QEMU's
// default paravirtual features that KVM supports; PV EOI needs KVM's local APIC.
TEST(KvmCpuid, ModelsGetKvmParavirtLeaves) {
  std::vector<kvm_cpuid_entry2> supported(1);
  supported[0].function = KVM_CPUID_FEATURES;
  supported[0].eax = ~(1u << KVM_FEATURE_STEAL_TIME);  // everything but steal time
  for (bool irqchip : {true, false}) {
    SCOPED_TRACE(irqchip);
    auto t = kvm_x86_cpuid(x86_default_cpu_model(), 0, {}, supported, irqchip);
    const kvm_cpuid_entry2* sig = leaf(t, KVM_CPUID_SIGNATURE);
    ASSERT_NE(sig, nullptr);
    EXPECT_EQ(sig->eax, uint32_t{KVM_CPUID_FEATURES});
    char name[13] = {};
    std::memcpy(name, &sig->ebx, 4);
    std::memcpy(name + 4, &sig->ecx, 4);
    std::memcpy(name + 8, &sig->edx, 4);
    EXPECT_STREQ(name, "KVMKVMKVM");
    const kvm_cpuid_entry2* f = leaf(t, KVM_CPUID_FEATURES);
    ASSERT_NE(f, nullptr);
    uint32_t want = (1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_NOP_IO_DELAY) |
                    (1u << KVM_FEATURE_CLOCKSOURCE2) | (1u << KVM_FEATURE_ASYNC_PF) |
                    (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);
    if (irqchip) want |= 1u << KVM_FEATURE_PV_EOI;
    EXPECT_EQ(f->eax, want);
  }
  // -cpu host keeps KVM's leaf, less what needs KVM's local APIC when it is not there.
  const X86CpuModel* host = x86_cpu_model_find("host");
  ASSERT_NE(host, nullptr);
  supported[0].eax = (1u << KVM_FEATURE_PV_EOI) | (1u << KVM_FEATURE_PV_UNHALT) | 1u;
  EXPECT_EQ(leaf(kvm_x86_cpuid(*host, 0, {}, supported, true), KVM_CPUID_FEATURES)->eax,
            supported[0].eax);
  EXPECT_EQ(leaf(kvm_x86_cpuid(*host, 0, {}, supported, false), KVM_CPUID_FEATURES)->eax, 1u);
}

// The -smp topology in CPUID, as QEMU reports it: 2 sockets of 3 cores of 2 threads; CPU 7 is
// socket 1, core 0, thread 1: APIC ID 1 << 3 | 0 << 1 | 1 = 9.
TEST(KvmCpuid, TopologyLeaves) {
  const X86CpuTopology topo{1, 3, 2};
  uint32_t id = x86_apicid_from_index(topo, 7);
  EXPECT_EQ(id, 9u);
  std::vector<kvm_cpuid_entry2> supported(2);
  supported[0].function = 1;
  supported[0].edx = ~0u;
  supported[1].function = 0x80000001;
  supported[1].ecx = ~0u;
  auto t = kvm_x86_cpuid(x86_default_cpu_model(), id, topo, supported, true);
  const kvm_cpuid_entry2* l1 = leaf(t, 1);
  ASSERT_NE(l1, nullptr);
  EXPECT_EQ(l1->ebx >> 24, 9u);
  EXPECT_EQ((l1->ebx >> 16) & 0xff, 6u);  // logical processors per package
  EXPECT_TRUE(l1->edx & (1u << 28));      // HTT
  std::vector<const kvm_cpuid_entry2*> levels;
  for (const auto& e : t)
    if (e.function == 0xb) levels.push_back(&e);
  ASSERT_EQ(levels.size(), 3u);
  EXPECT_EQ(levels[0]->flags, uint32_t{KVM_CPUID_FLAG_SIGNIFCANT_INDEX});
  EXPECT_EQ(levels[0]->eax, 1u);  // thread bits
  EXPECT_EQ(levels[0]->ebx, 2u);
  EXPECT_EQ(levels[0]->ecx, 0x100u);
  EXPECT_EQ(levels[1]->index, 1u);
  EXPECT_EQ(levels[1]->eax, 3u);  // thread + core bits: the package's offset
  EXPECT_EQ(levels[1]->ebx, 6u);
  EXPECT_EQ(levels[1]->ecx, 0x201u);
  EXPECT_EQ(levels[2]->ecx, 2u);  // the invalid level ends the list
  for (auto* l : levels) EXPECT_EQ(l->edx, 9u);
  EXPECT_TRUE(leaf(t, 0x80000001)->ecx & 2u);            // CmpLegacy (AMD)
  EXPECT_EQ(leaf(t, 0x80000008)->ecx, (3u << 12) | 5u);  // APIC ID size, NC
  // One CPU per package: no count, no HTT, no CmpLegacy.
  auto one = kvm_x86_cpuid(x86_default_cpu_model(), 0, {}, supported, true);
  EXPECT_EQ((leaf(one, 1)->ebx >> 16) & 0xff, 1u);
  EXPECT_FALSE(leaf(one, 1)->edx & (1u << 28));
  EXPECT_FALSE(leaf(one, 0x80000001)->ecx & 2u);
  EXPECT_EQ(leaf(one, 0x80000008)->ecx, 0u);
}

// A KVM without the paravirtual leaf gets none.
TEST(KvmCpuid, NoParavirtLeavesWithoutKvmsOwn) {
  auto t = kvm_x86_cpuid(x86_default_cpu_model(), 0, {}, {}, true);
  EXPECT_EQ(leaf(t, KVM_CPUID_SIGNATURE), nullptr);
  EXPECT_EQ(leaf(t, KVM_CPUID_FEATURES), nullptr);
}

}  // namespace
}  // namespace machina::x86
