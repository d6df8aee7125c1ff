#ifndef RELUC_COPENBLAS_SHIM_H
#define RELUC_COPENBLAS_SHIM_H
// Debian's libopenblas-dev; pkg-config's openblas.pc puts its cblas.h first on the include path.
#include <cblas.h>
#endif
