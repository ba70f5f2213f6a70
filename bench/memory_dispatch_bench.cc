// Memory dispatch: address -> flat range lookup at 10/100/1000 regions, and whole guest
// accesses (epoch pin + lookup + RAM copy or I/O callback).
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "system/memory.h"

namespace machina {
namespace {

constexpr uint64_t kStride = 0x2000;  // one 4 KiB device every 8 KiB: N ranges for N regions

struct Machine {
  MemoryRegion root;
  std::vector<std::unique_ptr<MemoryRegion>> regions;
  std::unique_ptr<AddressSpace> as;
  std::vector<uint64_t> addrs;  // random addresses inside the regions

  explicit Machine(int n) {
    root.init_container(nullptr, "system", UINT64_MAX);
    MemoryRegionOps ops;
    ops.read = [](uint64_t addr, unsigned) -> uint64_t { return addr; };
    ops.write = [](uint64_t, uint64_t, unsigned) {};
    ops.impl.max_access_size = 8;
    {
      MemoryTransaction t;  // one render for the whole setup
      for (int i = 0; i < n; ++i) {
        auto mr = std::make_unique<MemoryRegion>();
        mr->init_io(nullptr, "dev" + std::to_string(i), ops, 0x1000);
        (void)root.add_subregion(0x100000000 + uint64_t(i) * kStride, mr.get());
        regions.push_back(std::move(mr));
      }
    }
    as = std::make_unique<AddressSpace>(&root, "bench");
    std::mt19937_64 rng(42);
    for (int i = 0; i < 4096; ++i) {
      addrs.push_back(0x100000000 + (rng() % n) * kStride + (rng() % 0x400) * 4);
    }
  }
  ~Machine() { as.reset(); }
};

void BM_LookupRandom(benchmark::State& state) {
  Machine m(static_cast<int>(state.range(0)));
  EpochGuard g;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.as->lookup(m.addrs[i++ & 4095]));
  }
  state.SetLabel(std::to_string(m.as->view()->ranges().size()) + " ranges");
}
BENCHMARK(BM_LookupRandom)->Arg(10)->Arg(100)->Arg(1000);

void BM_LookupSameRegion(benchmark::State& state) {  // last-hit cache
  Machine m(static_cast<int>(state.range(0)));
  EpochGuard g;
  uint64_t a = m.addrs[0];
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.as->lookup(a));
    a ^= 4;
  }
}
BENCHMARK(BM_LookupSameRegion)->Arg(10)->Arg(100)->Arg(1000);

void BM_DispatchIoReadRandom(benchmark::State& state) {  // epoch pin + lookup + callback
  Machine m(static_cast<int>(state.range(0)));
  size_t i = 0;
  uint64_t v = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.as->read(m.addrs[i++ & 4095], 4, &v));
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_DispatchIoReadRandom)->Arg(10)->Arg(100)->Arg(1000);

void BM_IoRegionRead(benchmark::State& state) {  // one device register, 4 bytes
  Machine m(1);
  uint64_t v = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.as->read(0x100000010, 4, &v));
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_IoRegionRead);

void BM_IoRegionReadSplitBytes(benchmark::State& state) {  // 4-byte read, impl 1 byte
  MemoryRegion root, io;
  root.init_container(nullptr, "system", UINT64_MAX);
  MemoryRegionOps ops;
  ops.read = [](uint64_t addr, unsigned) -> uint64_t { return addr; };
  ops.impl.max_access_size = 1;
  io.init_io(nullptr, "bytes", std::move(ops), 0x100);
  (void)root.add_subregion(0x1000, &io);
  AddressSpace as(&root, "bench");
  uint64_t v = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(as.read(0x1010, 4, &v));
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_IoRegionReadSplitBytes);

void BM_RamRead(benchmark::State& state) {
  MemoryRegion root, ram;
  root.init_container(nullptr, "system", UINT64_MAX);
  (void)ram.init_ram(nullptr, "ram", 1 << 20);
  (void)root.add_subregion(0, &ram);
  AddressSpace as(&root, "bench");
  uint64_t v = 0, a = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(as.read(a, 8, &v));
    a = (a + 64) & ((1 << 20) - 1);
  }
}
BENCHMARK(BM_RamRead);

void BM_TranslateRam(benchmark::State& state) {
  MemoryRegion root, ram;
  root.init_container(nullptr, "system", UINT64_MAX);
  (void)ram.init_ram(nullptr, "ram", 1 << 20);
  (void)root.add_subregion(0, &ram);
  AddressSpace as(&root, "bench");
  uint64_t a = 0;
  for (auto _ : state) {
    EpochGuard g;
    benchmark::DoNotOptimize(as.translate(a, true).host);
    a = (a + 4096) & ((1 << 20) - 1);
  }
}
BENCHMARK(BM_TranslateRam);

void BM_RenderFlatView(benchmark::State& state) {  // cost of one commit at N regions
  Machine m(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    m.regions[0]->set_enabled(false);
    m.regions[0]->set_enabled(true);
  }
}
BENCHMARK(BM_RenderFlatView)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace machina

BENCHMARK_MAIN();
