// What the monitor shows about PCI: QMP query-pci's answer and HMP `info pci`'s text, built as
// QEMU builds them (hw/pci/pci-qmp-cmds.c, pci-hmp-cmds.c), and the class names both use.
#pragma once

#include <cstdint>
#include <string>

#include "qom/property.h"

namespace machina {

// QEMU's class description ("Host bridge", "ISA bridge", "Ethernet controller", ...) or
// "Class XXXX" when it has none.
std::string pci_class_text(uint16_t class_id);
// The description alone, empty when QEMU has none.
std::string pci_class_desc(uint16_t class_id);

// query-pci: one {"bus": 0, "devices": [...]} per host bridge.
json pci_query_json();
// info pci.
std::string pci_info_text();

}  // namespace machina
