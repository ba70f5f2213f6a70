// Registration of the QMP commands that machina's layers serve.
#pragma once

#include "monitor/qmp-commands.h"

namespace machina {

void qmp_register_machine_commands(QmpCommandRegistry& r);  // status, machines, run control
void qmp_register_qom_commands(QmpCommandRegistry& r);      // qom-*, device_*, object-*
void qmp_register_char_commands(QmpCommandRegistry& r);     // chardev-*, getfd, closefd
void qmp_register_hmp_command(QmpCommandRegistry& r);       // human-monitor-command
void qmp_register_block_commands(QmpCommandRegistry& r);    // blockdev-*, query-block, ...
void qmp_register_net_commands(QmpCommandRegistry& r);      // netdev_add, netdev_del, set_link

inline void qmp_register_all_commands(QmpCommandRegistry& r) {
  qmp_register_machine_commands(r);
  qmp_register_qom_commands(r);
  qmp_register_char_commands(r);
  qmp_register_hmp_command(r);
  qmp_register_block_commands(r);
  qmp_register_net_commands(r);
}

}  // namespace machina
