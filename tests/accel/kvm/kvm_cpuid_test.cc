// The CPUID table handed to KVM: the model's answers, feature words limited to what KVM
// supports (no /dev/kvm needed).
#include <gtest/gtest.h>

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
  auto t = kvm_x86_cpuid(m, 3, supported);
  uint32_t want[4];
  cpuid_query(m, 3, 0, 0, want);
  const kvm_cpuid_entry2* l0 = leaf(t, 0);
  ASSERT_NE(l0, nullptr);
  EXPECT_EQ(l0->ebx, want[1]);  // vendor
  const kvm_cpuid_entry2* l1 = leaf(t, 1);
  ASSERT_NE(l1, nullptr);
  cpuid_query(m, 3, 1, 0, want);
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
  auto t = kvm_x86_cpuid(*host, 5, supported);
  ASSERT_EQ(t.size(), supported.size());
  EXPECT_EQ(t[0].ebx, 0x756e6547u);
  EXPECT_EQ(t[1].ebx, 0x05010800u);  // APIC ID 5
  EXPECT_EQ(t[1].ecx, 0x00802001u | feat::kHypervisor);
  EXPECT_EQ(t[1].edx, 0x178bfbffu);
  EXPECT_EQ(t[2].ebx, 0x219c07abu);
  EXPECT_EQ(t[3].index, 1u);
  EXPECT_EQ(t[3].ecx, 0x201u);
  EXPECT_EQ(t[3].edx, 5u);  // x2APIC ID
}

TEST(KvmCpuid, NothingSupportedMeansNoFeatures) {
  auto t = kvm_x86_cpuid(x86_default_cpu_model(), 0, {});
  const kvm_cpuid_entry2* l1 = leaf(t, 1);
  ASSERT_NE(l1, nullptr);
  EXPECT_EQ(l1->edx, 0u);
}

}  // namespace
}  // namespace machina::x86
