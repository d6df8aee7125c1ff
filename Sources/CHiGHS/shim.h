#ifndef RELUC_CHIGHS_SHIM_H
#define RELUC_CHIGHS_SHIM_H
#include "interfaces/highs_c_api.h"
#endif
