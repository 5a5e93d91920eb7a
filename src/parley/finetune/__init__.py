"""Fine-tuning recipes: `parley finetune` for the chat model and for an LLM moderator.

Data is read into conversations (`data`), rendered in the exact prompt format the server uses
for the model with loss on the assistant's tokens only (`render`), trained with TRL's SFT
trainer and peft (`trainer`: setup -> fit -> validate) and written out as an adapter, a merged
model folder, optionally a GGUF file, and a model card (`export`).
"""
