# SPDX-License-Identifier: Apache-2.0
# A curated warning list, after curl's CMake/PickyWarnings.cmake.
set(IMGPULL_WARNINGS
  -Wall -Wextra -Wpedantic
  -Wshadow -Wformat=2 -Wconversion -Wno-sign-conversion
  -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations
  -Wold-style-definition -Wpointer-arith -Wcast-align -Wwrite-strings
  -Wundef -Wnull-dereference -Wdouble-promotion -Wvla -Wimplicit-fallthrough
  -Wunused -Wuninitialized -Wredundant-decls -Wnested-externs
  -Wno-overlength-strings -Wno-gnu-statement-expression)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  list(REMOVE_ITEM IMGPULL_WARNINGS -Wno-gnu-statement-expression)
  list(APPEND IMGPULL_WARNINGS -Wformat-truncation=1 -Wlogical-op -Wduplicated-cond -Wduplicated-branches)
endif()
if(IMGPULL_WERROR)
  list(APPEND IMGPULL_WARNINGS -Werror)
endif()
