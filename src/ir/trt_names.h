/*
 * trt_names.h -- the Torch-TensorRT names every layer meets (the engine class, the engine ops,
 * getitem), spelled once. Included by ir.h.
 */
#ifndef PT2C_IR_TRT_NAMES_H
#define PT2C_IR_TRT_NAMES_H

/* torch.classes.tensorrt.Engine, as pickles (module + name) and PT2 custom objects (fqn) name it */
#define PT2C_ENGINE_CLASS_MODULE "__torch__.torch.classes.tensorrt"
#define PT2C_ENGINE_CLASS_NAME "Engine"
#define PT2C_ENGINE_CLASS_FQN PT2C_ENGINE_CLASS_MODULE "." PT2C_ENGINE_CLASS_NAME

/* call_function targets */
#define PT2C_TARGET_EXECUTE_ENGINE "torch.ops.tensorrt.execute_engine.default"
#define PT2C_TARGET_NO_OP_PLACEHOLDER "torch.ops.tensorrt.no_op_placeholder_for_execute_engine.default"
#define PT2C_TARGET_GETITEM "_operator.getitem"

#endif
