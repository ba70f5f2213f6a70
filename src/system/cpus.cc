// The vCPU registry.
#include "system/cpus.h"

#include <unistd.h>

#include <atomic>

#include <algorithm>
#include <mutex>
#include <vector>

namespace machina {

namespace {

struct Registry {
  std::mutex lock;
  std::vector<Vcpu*> vcpus;
  std::string accel = "none";
  std::vector<std::pair<std::string, VcpuFactory>> factories;
};

Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

std::vector<Vcpu*> snapshot() {
  Registry& r = registry();
  std::lock_guard g(r.lock);
  return r.vcpus;
}

}  // namespace

const std::string& current_accel() {
  return registry().accel;
}
void set_current_accel(std::string name) {
  registry().accel = std::move(name);
}

namespace {
std::atomic<bool> g_kernel_irqchip{false};
}  // namespace

bool accel_kernel_irqchip() {
  return g_kernel_irqchip.load(std::memory_order_acquire);
}

void set_accel_kernel_irqchip(bool on) {
  g_kernel_irqchip.store(on, std::memory_order_release);
}

void accel_register_vcpu_factory(const std::string& accel, VcpuFactory factory) {
  registry().factories.emplace_back(accel, std::move(factory));
}

Result<std::unique_ptr<Vcpu>> accel_create_vcpu(Device& cpu) {
  for (auto& [name, f] : registry().factories)
    if (name == current_accel()) return f(cpu);
  return std::unique_ptr<Vcpu>();
}

void cpus_register(Vcpu* vcpu) {
  Registry& r = registry();
  std::lock_guard g(r.lock);
  r.vcpus.push_back(vcpu);
}

void cpus_unregister(Vcpu* vcpu) {
  Registry& r = registry();
  std::lock_guard g(r.lock);
  r.vcpus.erase(std::remove(r.vcpus.begin(), r.vcpus.end(), vcpu), r.vcpus.end());
}

pid_t vcpu_thread_id(const Device& cpu) {
  for (Vcpu* v : snapshot())
    if (v->cpu_device() == &cpu) return v->thread_id();
  return getpid();
}

void cpus_resume_all() {
  for (Vcpu* v : snapshot()) v->resume();
}

void cpus_pause_all() {
  for (Vcpu* v : snapshot()) v->pause();
}

void cpus_terminate_all() {
  for (Vcpu* v : snapshot()) v->terminate();
}

}  // namespace machina
