// query-pci and info pci: see pci-info.h.
#include "hw/pci/pci-info.h"

#include <cstdio>

#include "hw/pci/pci-device.h"
#include "hw/pci/pci-host.h"

namespace machina {

namespace {

struct ClassDesc {
  uint16_t id;
  const char* desc;
};

constexpr ClassDesc kClasses[] = {
    {0x0001, "VGA controller"},
    {0x0100, "SCSI controller"},
    {0x0101, "IDE controller"},
    {0x0102, "Floppy controller"},
    {0x0103, "IPI controller"},
    {0x0104, "RAID controller"},
    {0x0106, "SATA controller"},
    {0x0107, "SAS controller"},
    {0x0180, "Storage controller"},
    {0x0200, "Ethernet controller"},
    {0x0201, "Token Ring controller"},
    {0x0202, "FDDI controller"},
    {0x0203, "ATM controller"},
    {0x0280, "Network controller"},
    {0x0300, "VGA controller"},
    {0x0301, "XGA controller"},
    {0x0302, "3D controller"},
    {0x0380, "Display controller"},
    {0x0400, "Video controller"},
    {0x0401, "Audio controller"},
    {0x0402, "Phone"},
    {0x0403, "Audio controller"},
    {0x0480, "Multimedia controller"},
    {0x0500, "RAM controller"},
    {0x0501, "Flash controller"},
    {0x0580, "Memory controller"},
    {0x0600, "Host bridge"},
    {0x0601, "ISA bridge"},
    {0x0602, "EISA bridge"},
    {0x0603, "MC bridge"},
    {0x0604, "PCI bridge"},
    {0x0605, "PCMCIA bridge"},
    {0x0606, "NUBUS bridge"},
    {0x0607, "CARDBUS bridge"},
    {0x0608, "RACEWAY bridge"},
    {0x0680, "Bridge"},
    {0x0700, "Serial port"},
    {0x0701, "Parallel port"},
    {0x0800, "Interrupt controller"},
    {0x0801, "DMA controller"},
    {0x0802, "Timer"},
    {0x0803, "RTC"},
    {0x0900, "Keyboard"},
    {0x0901, "Pen"},
    {0x0902, "Mouse"},
    {0x0A00, "Dock station"},
    {0x0B00, "i386 cpu"},
    {0x0c00, "Firewire controller"},
    {0x0c01, "Access bus controller"},
    {0x0c02, "SSA controller"},
    {0x0c03, "USB controller"},
    {0x0c04, "Fibre channel controller"},
    {0x0c05, "SMBus"},
};

json bus_json(PciBus& bus);

json range(uint64_t base, uint64_t limit) {
  return json{{"base", base}, {"limit", limit}};
}

json bridge_json(PciDevice& dev) {
  uint8_t io_base = dev.get_byte(0x1c), io_limit = dev.get_byte(0x1d);
  uint64_t iob = uint64_t(io_base & 0xf0) << 8, iol = uint64_t(io_limit & 0xf0) << 8 | 0xfff;
  if ((io_base & 0x0f) == 0x01) {
    iob |= uint64_t(dev.get_word(0x30)) << 16;
    iol |= uint64_t(dev.get_word(0x32)) << 16;
  }
  uint64_t mb = uint64_t(dev.get_word(0x20) & 0xfff0) << 16;
  uint64_t ml = uint64_t(dev.get_word(0x22) & 0xfff0) << 16 | 0xfffff;
  uint64_t pb = uint64_t(dev.get_word(0x24) & 0xfff0) << 16;
  uint64_t pl = uint64_t(dev.get_word(0x26) & 0xfff0) << 16 | 0xfffff;
  if (dev.get_word(0x24) & 0x1) {
    pb |= uint64_t(dev.get_long(0x28)) << 32;
    pl |= uint64_t(dev.get_long(0x2c)) << 32;
  }
  json b{{"number", dev.get_byte(pci::kPrimaryBus)},
         {"secondary", dev.get_byte(pci::kSecondaryBus)},
         {"subordinate", dev.get_byte(pci::kSubordinateBus)},
         {"io_range", range(iob, iol)},
         {"memory_range", range(mb, ml)},
         {"prefetchable_range", range(pb, pl)}};
  json out{{"bus", b}};
  for (Bus* cb : dev.child_buses()) {
    if (auto* sec = dynamic_cast<PciBus*>(cb)) {
      out["devices"] = bus_json(*sec)["devices"];
      break;
    }
  }
  return out;
}

json device_json(PciDevice& dev, int bus_num) {
  uint16_t cls = dev.get_word(pci::kClassDevice);
  json class_info{{"class", cls}};
  if (std::string d = pci_class_desc(cls); !d.empty()) class_info["desc"] = d;
  json id{{"vendor", dev.get_word(pci::kVendorId)}, {"device", dev.get_word(pci::kDeviceId)}};
  json regions = json::array();
  for (int n = 0; n < pci::kNumRegions; ++n) {
    const PciIoRegion& r = dev.region(n);
    if (!r.size) continue;
    json reg{{"bar", n}};
    if (r.type & pci::kBaseAddressSpaceIo) {
      reg["type"] = "io";
    } else {
      reg["type"] = "memory";
      reg["prefetch"] = bool(r.type & pci::kBaseAddressMemPrefetch);
      reg["mem_type_64"] = bool(r.type & pci::kBaseAddressMemType64);
    }
    reg["address"] = r.addr;
    reg["size"] = r.size;
    regions.push_back(std::move(reg));
  }
  json info{{"bus", bus_num},
            {"slot", dev.slot()},
            {"function", dev.func()},
            {"class_info", class_info},
            {"regions", regions},
            {"qdev_id", dev.id() ? *dev.id() : std::string()},
            {"irq_pin", dev.get_byte(pci::kInterruptPin)}};
  if (dev.get_byte(pci::kInterruptPin)) info["irq"] = dev.get_byte(pci::kInterruptLine);
  uint8_t type = dev.get_byte(pci::kHeaderType) & ~pci::kHeaderTypeMultiFunction;
  if (type == pci::kHeaderTypeBridge) {
    info["pci_bridge"] = bridge_json(dev);
  } else if (type == pci::kHeaderTypeNormal) {
    id["subsystem"] = dev.get_word(pci::kSubsystemId);
    id["subsystem-vendor"] = dev.get_word(pci::kSubsystemVendorId);
  }
  info["id"] = id;
  return info;
}

json bus_json(PciBus& bus) {
  json devices = json::array();
  for (int devfn = 0; devfn < pci::kDevfnMax; ++devfn) {
    if (PciDevice* d = bus.device(devfn)) devices.push_back(device_json(*d, bus.bus_num()));
  }
  return json{{"bus", bus.bus_num()}, {"devices", devices}};
}

std::string fmt(const char* f, uint64_t a, uint64_t b = 0) {
  char buf[96];
  std::snprintf(buf, sizeof buf, f, static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return buf;
}

void device_text(const json& d, std::string& out) {
  out += fmt("  Bus %2llu, ", d["bus"].get<uint64_t>());
  out += fmt("device %3llu, function %llu:\n", d["slot"].get<uint64_t>(),
             d["function"].get<uint64_t>());
  out += "    ";
  const json& ci = d["class_info"];
  out += ci.contains("desc") ? ci["desc"].get<std::string>()
                             : fmt("Class %04llu", ci["class"].get<uint64_t>());
  const json& id = d["id"];
  out += fmt(": PCI device %04llx:%04llx\n", id["vendor"].get<uint64_t>(),
             id["device"].get<uint64_t>());
  if (id.contains("subsystem")) {
    out += fmt("      PCI subsystem %04llx:%04llx\n", id["subsystem-vendor"].get<uint64_t>(),
               id["subsystem"].get<uint64_t>());
  }
  if (d.contains("irq")) {
    char pin = char('A' + d["irq_pin"].get<int>() - 1);
    out += fmt("      IRQ %llu, pin ", d["irq"].get<uint64_t>()) + pin + "\n";
  }
  if (d.contains("pci_bridge")) {
    const json& b = d["pci_bridge"]["bus"];
    out += fmt("      BUS %llu.\n", b["number"].get<uint64_t>());
    out += fmt("      secondary bus %llu.\n", b["secondary"].get<uint64_t>());
    out += fmt("      subordinate bus %llu.\n", b["subordinate"].get<uint64_t>());
    out += fmt("      IO range [0x%04llx, 0x%04llx]\n", b["io_range"]["base"].get<uint64_t>(),
               b["io_range"]["limit"].get<uint64_t>());
    out +=
        fmt("      memory range [0x%08llx, 0x%08llx]\n", b["memory_range"]["base"].get<uint64_t>(),
            b["memory_range"]["limit"].get<uint64_t>());
    out += fmt("      prefetchable memory range [0x%08llx, 0x%08llx]\n",
               b["prefetchable_range"]["base"].get<uint64_t>(),
               b["prefetchable_range"]["limit"].get<uint64_t>());
  }
  for (const json& r : d["regions"]) {
    uint64_t addr = r["address"].get<uint64_t>(), size = r["size"].get<uint64_t>();
    out += fmt("      BAR%llu: ", r["bar"].get<uint64_t>());
    if (r["type"] == "io") {
      out += addr != kPciBarUnmapped ? fmt("I/O at 0x%04llx [0x%04llx]\n", addr, addr + size - 1)
                                     : std::string("I/O (not mapped)\n");
    } else {
      std::string kind = std::to_string(r["mem_type_64"].get<bool>() ? 64 : 32) + " bit" +
                         (r["prefetch"].get<bool>() ? " prefetchable" : "") + " memory";
      out +=
          kind + (addr != kPciBarUnmapped ? fmt(" at 0x%08llx [0x%08llx]\n", addr, addr + size - 1)
                                          : std::string(" (not mapped)\n"));
    }
  }
  out += "      id \"" + d["qdev_id"].get<std::string>() + "\"\n";
  if (d.contains("pci_bridge") && d["pci_bridge"].contains("devices")) {
    for (const json& c : d["pci_bridge"]["devices"]) device_text(c, out);
  }
}

}  // namespace

std::string pci_class_desc(uint16_t class_id) {
  for (const ClassDesc& c : kClasses) {
    if (c.id == class_id) return c.desc;
  }
  return "";
}

std::string pci_class_text(uint16_t class_id) {
  std::string d = pci_class_desc(class_id);
  return d.empty() ? fmt("Class %04llx", class_id) : d;
}

json pci_query_json() {
  json out = json::array();
  for (PciHostBridge* h : pci_host_bridges()) {
    if (h->bus()) out.push_back(bus_json(*h->bus()));
  }
  return out;
}

std::string pci_info_text() {
  std::string out;
  for (const json& bus : pci_query_json()) {
    for (const json& d : bus["devices"]) device_text(d, out);
  }
  return out;
}

}  // namespace machina
