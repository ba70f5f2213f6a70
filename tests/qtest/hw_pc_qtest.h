// Helpers for the q35 device qtests (hw_*_test.cc): a QTestMachine on -M q35 and the interrupt
// lines qtest reported, as levels.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "qtest/harness.h"

namespace machina::qtest {

class PcQtest : public ::testing::Test {
 protected:
  // Starts `-M q35 EXTRA`.
  void start(const std::string& extra = "") {
    m_ = std::make_unique<QTestMachine>("-M q35 " + extra);
    ASSERT_TRUE(m_->ok()) << m_->error();
  }
  void TearDown() override {
    if (m_ && m_->ok() && m_->child().running()) m_->quit();
  }

  QTestMachine& m() { return *m_; }
  json qmp(const std::string& cmd, const json& args = json::object()) { return m_->qmp(cmd, args); }
  std::string q(const std::string& cmd) { return m_->qtest(cmd); }
  uint8_t inb(uint16_t port) { return m_->inb(port); }
  void outb(uint16_t port, uint8_t v) { m_->outb(port, v); }
  void step(int64_t ns) { m_->clock_step(ns); }

  // Watches every ISA IRQ (GSI) as its device drives it.
  void intercept_gsi() { ASSERT_EQ(q("irq_intercept_in /machine/gsi"), "OK"); }
  // The last level qtest reported for line n (0 if never reported).
  int irq(int n) const { return level_in(m_->all_irqs(), n); }
  // How often line n was raised by the last command.
  int raised_by_last(int n) const {
    return count(m_->last_irqs(), "IRQ raise " + std::to_string(n));
  }
  int raised_total(int n) const { return count(m_->all_irqs(), "IRQ raise " + std::to_string(n)); }

  uint8_t cmos(uint8_t idx) {
    outb(0x70, idx);
    return inb(0x71);
  }
  void set_cmos(uint8_t idx, uint8_t v) {
    outb(0x70, idx);
    outb(0x71, v);
  }

  std::unique_ptr<QTestMachine> m_;

 private:
  static int level_in(const std::vector<std::string>& lines, int n) {
    int level = 0;
    for (const auto& l : lines) {
      if (l == "IRQ raise " + std::to_string(n)) level = 1;
      if (l == "IRQ lower " + std::to_string(n)) level = 0;
    }
    return level;
  }
  static int count(const std::vector<std::string>& lines, const std::string& what) {
    int c = 0;
    for (const auto& l : lines) c += l == what;
    return c;
  }
};

}  // namespace machina::qtest
