// machina's start-up: command line -> machine, chardevs, monitors, devices -> main loop.
#pragma once

namespace machina {

int machina_main(int argc, char** argv);

}  // namespace machina
