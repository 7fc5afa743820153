# Concatenate text files into a C source defining `const char pt2c__op_schemas_txt[]`
# (NUL-terminated) and `const unsigned long pt2c__op_schemas_len`.
# Run with -DIN="a.txt|b.txt" -DOUT=out.c
set(hex "")
string(REPLACE "|" ";" files "${IN}")
foreach(f ${files})
  file(READ "${f}" part HEX)
  string(APPEND hex "${part}0a")
endforeach()
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x..,){24})" "\\1\n" body "${body}")
get_filename_component(dir "${OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
file(WRITE "${OUT}" "/* generated from ${IN}; do not edit */\nconst char pt2c__op_schemas_txt[] = {\n${body}0x00};\nconst unsigned long pt2c__op_schemas_len = ${len}ul;\n")
