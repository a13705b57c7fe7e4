// error.h - dk::Error, the exception every layer below the C API throws. The API boundary
// (native/api/api.h) turns it into a dk_status and the thread's last-error message.
#pragma once

#include <stdexcept>
#include <string>
#include "deepkern.h"

namespace dk {

struct Error : std::runtime_error {
    dk_status status;
    Error(dk_status s, const std::string& msg) : std::runtime_error(msg), status(s) {}
};

}  // namespace dk
