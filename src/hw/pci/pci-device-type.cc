// pci-device: the QOM type, the PCI interfaces and the generic properties (addr, multifunction,
// and QEMU's option ROM / ACPI index / failover properties, kept but unused). See pci-device.h.
#include <cctype>

#include "hw/pci/pci-device.h"
#include "qom/property-types.h"

namespace machina {

namespace {

// One "%x" field as sscanf reads it: optional 0x prefix, hex digits.
bool parse_hex_field(std::string_view s, size_t& pos, unsigned& out) {
  if (s.substr(pos, 2) == "0x" || s.substr(pos, 2) == "0X") {
    if (pos + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[pos + 2]))) pos += 2;
  }
  size_t start = pos;
  uint64_t v = 0;
  while (pos < s.size() && std::isxdigit(static_cast<unsigned char>(s[pos]))) {
    char c = char(std::tolower(static_cast<unsigned char>(s[pos])));
    v = v * 16 + unsigned(c <= '9' ? c - '0' : c - 'a' + 10);
    if (v > 0xffffffff) v = 0xffffffff;
    ++pos;
  }
  out = unsigned(v);
  return pos > start;
}

// QEMU's set_pci_devfn: "slot.fn" or "slot", hexadecimal.
std::optional<int> parse_devfn(std::string_view s) {
  size_t pos = 0;
  unsigned slot = 0, fn = 0;
  if (!parse_hex_field(s, pos, slot)) return std::nullopt;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    if (!parse_hex_field(s, pos, fn)) return std::nullopt;
  }
  if (pos != s.size() || fn > 7 || slot > 31) return std::nullopt;
  return int(slot << 3 | fn);
}

Property devfn_property(int PciDevice::*field) {
  Property p;
  p.name = "addr";
  p.type = "int32";
  p.description = "Slot and optional function number, example: 06.0 or 06";
  p.default_value = -1;
  p.get = [field](Object& o) -> Result<json> { return json(static_cast<PciDevice&>(o).*field); };
  p.parse = [field](Object& o, std::string_view s) -> Status {
    auto v = parse_devfn(s);
    if (!v) return prop::bad_value(o, "addr", s);
    static_cast<PciDevice&>(o).*field = *v;
    return Status::Ok();
  };
  p.set = [field, parse = p.parse](Object& o, const json& v) -> Status {
    if (v.is_string()) return parse(o, v.get<std::string>());
    if (!v.is_number_integer()) return prop::invalid_type("addr", "integer");
    int64_t n = v.get<int64_t>();
    if (v.is_number_unsigned() && v.get<uint64_t>() > 255) n = 256;
    if (n < -1 || n > 255) return prop::expects("addr", "a value between -1 and 255");
    static_cast<PciDevice&>(o).*field = int(n);
    return Status::Ok();
  };
  return p;
}

TypeRegistration pcie_interface{
    TypeInfo{.name = kInterfacePcieDevice, .parent = "interface", .abstract = true}};
TypeRegistration conventional_interface{
    TypeInfo{.name = kInterfaceConventionalPciDevice, .parent = "interface", .abstract = true}};

TypeRegistration pci_device_type{TypeInfo{
    .name = kTypePciDevice,
    .parent = kTypeDevice,
    .abstract = true,
    .class_new = class_from_parent<PciDeviceClass, DeviceClass>(),
    .class_init = PciDevice::class_init,
}};

}  // namespace

void PciDevice::class_init(ObjectClass& oc) {
  auto& dc = static_cast<DeviceClass&>(oc);
  dc.bus_type = kTypePciBus;
  dc.add_property(devfn_property(&PciDevice::devfn_));
  dc.add_property(
      prop::boolean<PciDevice>("multifunction", &PciDevice::multifunction_, false, "on/off"));
  // QEMU's option ROM, ACPI index and failover properties: accepted (management tools pass
  // them) and kept, not used: machina loads no option ROMs.
  auto store = [&dc](std::string name, std::string type, json def) {
    Property p;
    p.name = name;
    p.type = type;
    p.default_value = def;
    p.description = "machina: accepted for compatibility, not used";
    p.get = [name, def](Object& o) -> Result<json> {
      auto& m = static_cast<PciDevice&>(o).compat_values_;
      auto it = m.find(name);
      return it == m.end() ? def : it->second;
    };
    p.set = [name, type](Object& o, const json& v) -> Status {
      if (type == "str" && !v.is_string()) return prop::invalid_type(name, "string");
      if (type == "uint32") {
        auto r = prop::int_from_json<uint32_t>(name, v);
        if (!r.ok()) return r.error();
      }
      static_cast<PciDevice&>(o).compat_values_[name] = v;
      return Status::Ok();
    };
    if (type == "uint32") {
      p.parse = [name](Object& o, std::string_view s) -> Status {
        auto r = prop::int_from_string<uint32_t>(name, s);
        if (!r.ok()) return r.error();
        static_cast<PciDevice&>(o).compat_values_[name] = r.value();
        return Status::Ok();
      };
    }
    dc.add_property(std::move(p));
  };
  store("romfile", "str", json(""));
  store("romsize", "uint32", json(0xffffffffu));
  store("rombar", "uint32", json(1u));
  store("acpi-index", "uint32", json(0u));
  store("failover_pair_id", "str", json(""));
}

}  // namespace machina
